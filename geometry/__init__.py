"""morphax.geometry: parametric shapes, gmsh meshing and differentiable mesh morphing."""
