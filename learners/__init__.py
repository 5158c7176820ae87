"""morphax.learners: learned systems on the FEM core (nma, meta_pde, rad, ...)."""
