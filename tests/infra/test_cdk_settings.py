"""Settings of the CDK app: read from FMT_INFRA_*, with errors that name the variable to fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.cdk.settings import InfraSettings


@pytest.fixture(autouse=True)
def _no_infra_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FMT_INFRA_VECTOR_STORE", "FMT_INFRA_OPENSEARCH__DEPLOYER_PRINCIPAL_ARNS"):
        monkeypatch.delenv(name, raising=False)


def settings(**values: object) -> InfraSettings:
    return InfraSettings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults_choose_the_cheapest_store_and_fixed_size_chunks() -> None:
    defaults = settings()
    assert defaults.vector_store == "s3-vectors"
    assert defaults.chunking.strategy == "FIXED_SIZE"
    assert defaults.embedding_model_id == "amazon.titan-embed-text-v2:0"


def test_environment_selects_opensearch_with_its_deployer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMT_INFRA_VECTOR_STORE", "opensearch-serverless")
    monkeypatch.setenv(
        "FMT_INFRA_OPENSEARCH__DEPLOYER_PRINCIPAL_ARNS", '["arn:aws:iam::123456789012:role/Admin"]'
    )
    monkeypatch.setenv("FMT_INFRA_CHUNKING__MAX_TOKENS", "512")
    chosen = settings()
    assert chosen.vector_store == "opensearch-serverless"
    assert chosen.opensearch.deployer_principal_arns == ["arn:aws:iam::123456789012:role/Admin"]
    assert chosen.chunking.max_tokens == 512


def test_opensearch_without_deployer_names_the_variable_to_set() -> None:
    with pytest.raises(ValidationError, match="FMT_INFRA_OPENSEARCH__DEPLOYER_PRINCIPAL_ARNS"):
        settings(vector_store="opensearch-serverless")


def test_hierarchical_children_must_be_smaller_than_parents() -> None:
    with pytest.raises(ValidationError, match="CHILD_MAX_TOKENS"):
        settings(chunking={"strategy": "HIERARCHICAL", "parent_max_tokens": 300})


@pytest.mark.parametrize("name", ["Catalog", "ab", "a" * 33, "-catalog"])
def test_collection_names_opensearch_would_refuse_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError, match="collection_name"):
        settings(opensearch={"collection_name": name})


@pytest.mark.parametrize("prefix", ["catalog", "/catalog/", ""])
def test_catalog_prefix_must_be_a_folder_like_prefix(prefix: str) -> None:
    with pytest.raises(ValidationError, match="catalog_prefix"):
        settings(catalog_prefix=prefix)
