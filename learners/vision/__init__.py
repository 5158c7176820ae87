"""morphax.learners.vision: predicting the motivations of actions in images with knowledge
mined from text (Vondrick, Oktay, Pirsiavash, Torralba, CVPR 2016)."""
