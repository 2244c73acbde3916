"""app.py keeps the collector off while it imports and freezes what the import built
(cold start, measured by `make bench`): the collector must be on again afterwards."""
import gc


def test_the_app_leaves_the_collector_on_with_its_import_frozen():
    import app  # noqa: F401 - importing it is what is checked

    assert gc.isenabled()
    assert gc.get_freeze_count() > 100_000  # botocore's models, our modules and tables
