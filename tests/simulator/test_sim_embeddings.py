"""The simulator's embedding endpoints for models a scenario does not list."""

from __future__ import annotations

from simulator.embeddings import vector


async def test_a_standard_embedding_model_is_served_without_a_scenario_entry(http) -> None:
    r = await http.post("/r/us-east/v1/embeddings", json={"model": "text-embedding-3-small", "input": "refund"})
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["embedding"] == vector("text-embedding-3-small", "refund", 256)
    g = await http.post("/r/us-central/v1beta/models/text-embedding-004:batchEmbedContents",
                        json={"requests": [{"content": {"parts": [{"text": "refund"}]}}]})
    assert g.status_code == 200 and len(g.json()["embeddings"][0]["values"]) == 256
    unknown = await http.post("/r/us-east/v1/embeddings", json={"model": "no-such-embedder", "input": "x"})
    assert unknown.status_code == 404
