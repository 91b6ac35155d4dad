"""The catalogue (stalib/catalogue.py) is the one place a dataset is named, placed and titled:
the registry, the job grid and the report derive their maps from it."""

from __future__ import annotations

from stalib import catalogue


def test_every_map_of_datasets_is_the_catalogue_s():
    from stalib.data import registry
    from stalib.report import reproduce, results_files, summaries

    names = [d.name for d in catalogue.DATASETS]
    assert list(registry.FOLDERS) == names and registry.DATASETS[:-1] == tuple(names)
    assert reproduce.DATA_FOLDERS == catalogue.folders()
    assert reproduce.SHORT == catalogue.job_names()
    assert reproduce.OUT_OF_SAMPLE == ("nwucla", "utdmhad")
    assert list(results_files.DATASETS) == names and list(summaries.DATASET_SHORT) == names
    # every dataset of the catalogue has its code registered by name
    assert set(names) <= set(registry.PROTOCOLS) and set(names) <= set(registry._PREPROCESS)


def test_a_dataset_that_chose_nothing_gets_only_the_chosen_jobs():
    from stalib.report import reproduce

    for name in catalogue.out_of_sample():
        jobs = reproduce.job_names("fig7", name)
        assert jobs and all(j.endswith(catalogue.FAMILIES["fig7"].recorded) for j in jobs)
