"""VASP engine: input sets, custodian handler lists, output parsers and replay of reference runs."""
