"""morphax.learners.rnn_info: RNNs in the predictive information plane (Dong, Oktay, Poole,
Alemi 2019)."""
