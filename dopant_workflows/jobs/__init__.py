"""One function per stage, shared by the CLI and the Firetasks: typed settings and paths in, the stage's pydantic
document out, built from the run directory it wrote (atomate2's "document from the directory").

    reference AIMD   jobs.reference.run_reference_aimd   -> TrainingSetDocument
    training         jobs.training.train_network         -> ModelDocument
    MD + analysis    jobs.md.run_md_stage                -> MDRunDocument (MDTaskDocument.from_run for a study)
    dielectric       jobs.dielectric.record_dielectric / run_vasp_dielectric -> DielectricDocument

No FireWorks and no database here: a Firetask reads its parameters, calls one job, inserts the document and
returns an FWAction; a CLI command parses options, calls the same job and prints.
"""
