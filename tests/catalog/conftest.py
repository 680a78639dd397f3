"""Catalog fixtures: isolated secrets and AWS settings, a database file, real local services."""

from __future__ import annotations

import json

import duckdb
import pytest
from catalog_helpers import MotoServer, RangeServer

import corpusql

AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Secrets in the test's own file; no AWS credentials from the developer's machine."""
    monkeypatch.setenv("CORPUSQL_SECRETS", str(tmp_path / "config" / "secrets.json"))
    monkeypatch.delenv("CORPUSQL_CACHE", raising=False)
    for var in AWS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def db(tmp_path):
    return tmp_path / "lake.duckdb"


@pytest.fixture
def lake(db):
    """A connection on a database file, and its catalog.

    The catalog needs none of the UDFs, so this is a plain DuckDB connection (binding every
    corpusql function takes seconds on a busy machine); tests of reopening and role connections
    use ``corpusql.connect`` itself.
    """
    con = duckdb.connect(str(db))
    yield con, corpusql.catalog(con)
    con.close()


@pytest.fixture(scope="session")
def http_root(tmp_path_factory):
    return tmp_path_factory.mktemp("http-root")


@pytest.fixture(scope="session")
def http_server(http_root):
    server = RangeServer(http_root).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server():
    """moto's S3 with auth on; yields (endpoint, access key, secret key) of a full-access user."""
    import boto3

    server = MotoServer().start()
    try:
        iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1",
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="lake")
        iam.put_user_policy(UserName="lake", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="lake")["AccessKey"]
        iam.close()
        yield server.url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3(moto_server):
    """A boto3 S3 client signed with the valid key, and a bucket ``lake``."""
    import boto3

    url, key, secret = moto_server
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id=key, aws_secret_access_key=secret)
    client.create_bucket(Bucket="lake")
    yield client
    client.close()
