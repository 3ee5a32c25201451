"""dopant_workflows: high-throughput FireWorks workflows for dopant screening in Li solid electrolytes."""

from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec((Path(__file__).parent / "dopant_workflows" / "_version.py").read_text(), version)  # noqa: S102 (our own file)

setup(
    name="dopant_workflows",
    version=version["__version__"],
    description=(
        "AIMD -> Behler-Parrinello ANN -> ANN-MD -> Arrhenius/Anderson-Stuart, "
        "as FireWorks workflows with maggma builders"
    ),
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=[
        *find_packages(include=["dopant_workflows", "dopant_workflows.*", "builders", "builders.*"]),
        "dopant_workflows.fw_config",
        "dopant_workflows.fw_config.templates",
    ],
    # the top-level fw_config/ (FireWorks configuration templates) ships inside the package
    package_dir={"dopant_workflows.fw_config": "fw_config",
                 "dopant_workflows.fw_config.templates": "fw_config/templates"},
    package_data={"dopant_workflows.fw_config": ["*.yaml"], "dopant_workflows.fw_config.templates": ["*.yaml"]},
    include_package_data=True,
    install_requires=[
        # torch first: 2.13.0 (CPU build) must satisfy this range; never let a bare torch pull CUDA wheels.
        "torch>=2.1,<2.14",
        "numpy>=1.26,<3",
        "scipy>=1.11,<2",
        "pymatgen>=2024.6.10",
        "pymatgen-analysis-diffusion>=2024.7.15",
        "ase>=3.29,<4",
        "fireworks>=2.0.3,<3",
        "atomate>=1.1.0,<2",
        "custodian>=2024.6.24",
        "maggma>=0.70,<1",
        "mongomock>=4.1,<5",
        "mongomock-persistence>=0.0.5,<0.1",
        "pymongo>=4.6,<5",
        "monty>=2024.5.24",
        "pydantic>=2.6,<3",
        "pyyaml>=6,<7",
        "tqdm>=4.66,<5",
        "matplotlib>=3.8,<4",
        "chgnet>=0.3.8,<0.5",  # 0.3.8+ wheels carry the CHGNet 0.3.0 weights (the chgnet 0.3.0 package does not)
        "sevenn>=0.10,<1",
        "kinisi>=1.0,<3",
        "numba>=0.60,<1",
        "vesin>=0.3,<1",
        "threadpoolctl>=3.1,<4",  # BLAS kept to one thread beside the numba kernels (ann.force_training)
    ],
    # gpu: the neighbour list built on the GPU (vesin-torch), half of a 100,000-atom force call otherwise;
    # test installs it so that its equivalence with the host list is checked on every run (it works on CPU too)
    extras_require={"test": ["pytest>=8,<10", "pytest-xdist>=3.6,<4", "ruff>=0.8,<1", "vesin-torch>=0.6,<0.7"],
                    "gpu": ["vesin-torch>=0.6,<0.7"]},
    entry_points={"console_scripts": ["dopwf = dopant_workflows.cli:main"]},
)
