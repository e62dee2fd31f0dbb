"""The docs say what the code does."""

from pathlib import Path

from fedmeki_data.schema import CLINICAL_VARIABLES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_clinical_variables_table_matches_the_schema():
    rows = [line.split("|")[1:-1] for line in (DOCS / "clinical-variables.md").read_text().splitlines()
            if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(CLINICAL_VARIABLES)
    for cells, variable in zip(rows, CLINICAL_VARIABLES):
        index, name, unit, description, kind, _, physionet, mimic = (cell.strip() for cell in cells)
        assert (name, unit, description, kind) == (f"`{variable.name}`", variable.unit, variable.description,
                                                   variable.kind)
        assert (physionet or None, mimic or None) == (variable.physionet2019, variable.mimic3)
