"""The reference receiver as a library: verify, deduplicate by jti, delete only once."""

from __future__ import annotations

from pathlib import Path

from joserfc.jwk import OKPKey

from exitright.protocols import set as sets
from exitright.protocols.jwks import StaticKeys
from exitright.protocols.reference_receiver import JtiStore, ReferenceReceiver

ISSUER = "https://shop.example"
AUDIENCE = "https://courier.example/events"
KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "k1", "alg": "Ed25519"})


def _token(jti: str, event: str = "account-purged", aud: str = AUDIENCE) -> str:
    claims = sets.build_claims(
        issuer=ISSUER,
        audience=aud,
        event=event,
        sub_id=sets.subject_id("opaque", "c-42"),
        jti=jti,
        iat=1_795_000_000,
    )
    return sets.sign(claims, KEY)


def _receiver(deleted: list[str], store: JtiStore, fail: bool = False) -> ReferenceReceiver:
    def on_delete(event: sets.SecurityEvent) -> None:
        if fail:
            raise RuntimeError("the customer database is down")
        deleted.append(event.jti)

    return ReferenceReceiver(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=StaticKeys({"keys": [KEY.as_dict(private=False)]}),
        on_delete=on_delete,
        store=store,
    )


def test_each_jti_is_deleted_once_even_across_restarts(tmp_path: Path) -> None:
    """A second copy of a SET, even after a restart, is acknowledged without deleting again."""
    deleted: list[str] = []
    store = JtiStore(tmp_path / "seen.db")
    assert _receiver(deleted, store).accept(_token("j1")) == (202, None)
    store.close()
    again = _receiver(deleted, JtiStore(tmp_path / "seen.db"))
    assert again.accept(_token("j1")) == (202, None)
    assert deleted == ["j1"]


def test_a_failed_deletion_answers_503_and_is_retried_later() -> None:
    """The jti is remembered only once the callback succeeded."""
    deleted: list[str] = []
    store = JtiStore()
    status, body = _receiver(deleted, store, fail=True).accept(_token("j2"))
    assert status == 503 and body is not None
    assert _receiver(deleted, store).accept(_token("j2")) == (202, None)
    assert deleted == ["j2"]


def test_a_set_for_another_audience_is_refused_with_invalid_audience() -> None:
    """RFC 8935 §2.4: 400 with err invalid_audience."""
    status, body = _receiver([], JtiStore()).accept(_token("j3", aud="https://other"))
    assert status == 400 and body is not None and body["err"] == "invalid_audience"


def test_other_event_types_are_accepted_without_deleting() -> None:
    """account-disabled with no callback configured is acknowledged and ignored."""
    deleted: list[str] = []
    assert _receiver(deleted, JtiStore()).accept(_token("j4", "account-disabled")) == (202, None)
    assert deleted == []
