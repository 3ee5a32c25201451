"""Transport analysis (pure functions, units in names): diffusion, Arrhenius, Nernst-Einstein, RDF,
Anderson-Stuart; plots apart from computing."""
