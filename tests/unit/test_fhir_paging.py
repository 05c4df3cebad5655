"""The migration's FHIR client pages by the server's `next` links, whatever their form (the server faked at
the HTTP boundary), and refuses a link that leaves the domain's FHIR base."""

import re

import certifi
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kt2ops.migration.client import FhirClient, FhirError

BASE = "https://prd2.example/api/v1/d/fhir/r4"


def client_with(handler) -> FhirClient:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    client = FhirClient("https://prd2.example", "d", "app", pem, certifi.where())
    client.http = httpx.Client(base_url="https://prd2.example", transport=httpx.MockTransport(handler))
    return client


def platform(pages: dict[str | None, tuple[list[str], str | None]], seen: list[httpx.URL]):
    """Token endpoint, and per _cursor a page of Patient ids with the next link the server chose."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        seen.append(request.url)
        ids, following = pages[request.url.params.get("_cursor")]
        links = [{"relation": "next", "url": following}] if following else []
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "link": links,
                                         "entry": [{"resource": {"resourceType": "Patient", "id": i}} for i in ids]})

    return handle


def test_search_all_follows_next_links_with_their_own_query():
    mark = "http://koppeltaal.nl/migration/identifier/Patient|"
    pages = {None: (["a", "b"], f"{BASE}/Patient?identifier=http%3A%2F%2Fkoppeltaal.nl%2Fx%7C&_count=2&_cursor=c1"),
             "c1": (["c", "d"], f"{BASE}/Patient?identifier=http%3A%2F%2Fkoppeltaal.nl%2Fx%7C&_count=2&_cursor=c2"),
             "c2": (["e"], None)}
    seen: list[httpx.URL] = []
    found = [p["id"] for p in client_with(platform(pages, seen)).search_all("Patient", page=2, identifier=mark)]
    assert found == ["a", "b", "c", "d", "e"]
    assert seen[0].params["identifier"] == mark and seen[0].params["_count"] == "2"
    assert [u.params.get("_cursor") for u in seen] == [None, "c1", "c2"]
    assert seen[1].params["identifier"] == "http://koppeltaal.nl/x|"  # the link's query, as the server wrote it


def test_a_next_link_outside_the_domains_base_is_refused():
    pages = {None: (["a"], "https://elsewhere.example/api/v1/d/fhir/r4/Patient?_cursor=x")}
    results = client_with(platform(pages, [])).search_all("Patient")
    assert next(results)["id"] == "a"
    with pytest.raises(FhirError, match=re.escape(f"is not under {BASE}")):
        next(results)


def test_hapis_paging_links_on_the_base_itself_are_followed():
    pages = {None: (["a"], f"{BASE}?_getpages=p1&_getpagesoffset=1&_count=1&_cursor=c1"), "c1": (["b"], None)}
    seen: list[httpx.URL] = []
    assert [p["id"] for p in client_with(platform(pages, seen)).search_all("Patient", page=1)] == ["a", "b"]
    assert seen[1].path == "/api/v1/d/fhir/r4" and seen[1].params["_getpages"] == "p1"


def test_a_link_that_only_starts_like_the_base_is_refused():
    pages = {None: (["a"], f"{BASE}-other/Patient?_cursor=x")}
    results = client_with(platform(pages, [])).search_all("Patient")
    next(results)
    with pytest.raises(FhirError, match="is not under"):
        next(results)
