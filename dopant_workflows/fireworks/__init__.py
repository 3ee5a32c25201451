"""FireWorks orchestration: Firetasks (validate, call one library function, return FWAction), Fireworks,
workflow factories and atomate-style powerups. Firetask class paths are stored in LaunchPads: public API."""
