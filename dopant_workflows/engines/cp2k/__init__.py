"""CP2K engine: a real open DFT code (Debian's ``cp2k``, GTH-PBE pseudopotentials and MOLOPT basis sets) for labels
(single points) under custodian's CP2K handlers. Settings in :mod:`.settings`, input text in :mod:`.inputs`, output
parsing with explicit units in :mod:`.outputs`, runs in :mod:`.runs`."""
