"""How the models reach DynamoDB."""


def test_every_table_shares_one_botocore_loader(moto_aws):
    """Cold start and test time: each model's botocore session must not parse botocore's JSON again."""
    from chalicelib.storage import schema

    loaders = set()
    for model in schema.all_models():
        connection = model._get_connection().connection
        loaders.add(id(connection.session.get_component("data_loader")))
    assert len(loaders) == 1


def test_the_s3_client_shares_the_loader_too(moto_aws):
    from chalicelib.storage import base, files

    files.reset_client()
    assert files.s3_client()._loader is base._LOADER
