"""morphax.learners.gnn: energy GNNs that stay correct under asynchronous inference
(Solodova, Richardson, Oktay, Adams, ICLR 2025)."""
