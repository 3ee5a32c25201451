"""Host cells and dopant substitutions (pymatgen)."""
