"""morphax.learners.compression: entropy-penalized reparameterization for compressing network
weights to real bitstreams (Oktay, Balle, Singh, Shrivastava, ICLR 2020)."""
