"""The `parley` command.

- `parley serve [--config FILE] [--demo]`: the server (HTTP API, signalling, a supervised Janus).
  `--demo` first creates a demo summit and prints its invite links.
- `parley summit create ...`: create a summit and its invitations; prints the links.
- `parley invitation list SUMMIT_ID`: a summit's invitations, with the ids `revoke` takes.
- `parley invitation revoke INVITATION_ID`: the link admits no one any more; the running server
  removes its devices from the call and the lobby at once.
- `parley join LINK --name NAME [--listen LANGUAGE] [--take-over]`: join as a Python device with a
  test picture and tone; prints the roster, the group code, the booths and what it receives.
  `--delegation FINGERPRINT` (or the link's `&delegation=`): certified mode, showing the enrollment
  code until the officer approves; `--officer KEYFILE --pin NAME=FINGERPRINT...`: the officer's
  console, which approves each request on a typed `approve N` (parley.sdk.console_prompt).
- `parley web-hash URL` (or `--dir web/dist`): the bundle hash of the browser client a server serves
  (or of a build), to compare with the one the build printed (parley.server.web_bundle).
- `parley web-serve --server URL`: serve the browser client from a delegation's own origin;
  `parley web-link LINK --client ORIGIN` rewrites an invite link to open it (parley.server.origins).
- `parley delegation keygen | fingerprint | approve | pins | revoke`: a delegation officer's key,
  device certificates, pins and revocations (parley.identity.commands).
- `parley verify READOUT --pin NAME=FINGERPRINT... [--claim TEXT]`: check a record readout offline
  (parley.record.commands).
- `parley e2ee-demo`: a summit's key agreement in one process, no server: the DAVE gateway and
  three members of two delegations over an in-memory link, printing what each person would see.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import hashlib
import ipaddress
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import uvicorn
from aiortc.contrib.media import MediaPlayer

from parley.e2ee.gateway import DaveGateway
from parley.e2ee.local_group import LocalGroup
from parley.identity import commands as delegation_commands
from parley.identity.delegation_key import DelegationKey, DelegationKeyError, load_key
from parley.identity.fingerprint import Fingerprint
from parley.media.sources import PatternVideoTrack, ToneAudioTrack
from parley.record import commands as record_commands
from parley.sdk.choices import FLOOR
from parley.sdk.client import DEFAULT_CHOICE, JoinError, ParleyClient
from parley.sdk.console_prompt import ConsolePrompt, read_lines
from parley.sdk.identity import KeyFileError
from parley.sdk.member import DaveMember, Media
from parley.sdk.requests import RequestRefused, RequestTimeout
from parley.server.config import Settings, load_settings
from parley.server.data_dir import ServerFiles, UnsafeSecret
from parley.server.origins import client_link, origin_of
from parley.server.runtime import ParleyServer
from parley.server.web import client_app, default_web_dir
from parley.server.web_bundle import bundle_hash, fetch_served_bundle, manifest, read_dist
from parley.store.database import Store
from parley.summit.course import Admission, AtEnd
from parley.summit.invitations import InvitationSigner
from parley.summit.model import (
    DEFAULT_DUCKING,
    LANGUAGE_TAG,
    MAX_DEVICES_PER_INVITATION,
    Invitation,
    Role,
    check_languages,
    check_pins,
)
from parley.summit.organiser import Organiser, Seat

_DEMO_PEOPLE = (
    (1001, "Delegation A", "principal"),
    (2001, "Delegation B", "principal"),
    (2002, "Delegation B", "delegate"),
)


def _e2ee_demo() -> int:
    gateway = DaveGateway(channel_id=7)
    link = LocalGroup(gateway)
    members = {uid: DaveMember(uid, gateway.channel_id) for uid, _, _ in _DEMO_PEOPLE}
    print("Parley demo: one summit, two delegations, end-to-end encrypted (DAVE over MLS).\n")
    for uid, delegation, role in _DEMO_PEOPLE:
        link.join(members[uid])
        link.run()
        print(f"  {delegation} {role} (user {uid}) joined; group epoch {gateway.epoch}")
    print("\nGroup code on every screen (read it aloud; it must be the same):")
    for uid, delegation, role in _DEMO_PEOPLE:
        print(f"  {delegation:>12} {role:<9}  {members[uid].group_code()}")

    async def pairwise() -> tuple[str, str]:
        return await members[1001].pairwise_code(2001), await members[2001].pairwise_code(1001)

    a_sees, b_sees = asyncio.run(pairwise())
    print(f"\nPairwise code, principal A <-> principal B:\n  A sees {a_sees}\n  B sees {b_sees}")

    frame = b"\xfc" + b"opus frame from principal A".ljust(59, b".")
    sealed = members[1001].encrypt(Media.AUDIO, frame)
    assert sealed is not None
    opened = members[2001].decrypt(1001, Media.AUDIO, sealed)
    print(
        f"\nAn audio frame: {len(frame)} bytes plaintext, {len(sealed)} bytes as the server forwards it"
        f" (sha256 {hashlib.sha256(sealed).hexdigest()[:16]}...); B decrypts it: {opened == frame}"
    )

    departed = members[2002]
    link.leave(2002)
    link.run()
    after = members[1001].encrypt(Media.AUDIO, frame)
    assert after is not None
    stayed = members[2001].decrypt(1001, Media.AUDIO, after) == frame
    left = departed.decrypt(1001, Media.AUDIO, after) is not None
    print(
        f"\nThe delegate of B leaves: epoch {gateway.epoch}, new group code {members[1001].group_code()}."
        f"\n  B's principal decrypts A's next frame: {stayed}"
        f"\n  the departed delegate, keeping its old keys, decrypts it: {left}"
    )
    print("\nThe server held only its own signing key throughout; it never had a key to any frame.")
    return 0


def _invitation_spec(text: str) -> Seat:
    """DELEGATION:ROLE, or DELEGATION:interpreter:LANGUAGE; then *N for a link that admits N
    devices at once (one without it)."""
    text, devices = _devices_of(text)
    rest, _, last = text.rpartition(":")
    if not rest:
        raise argparse.ArgumentTypeError("an invitation is DELEGATION:ROLE, e.g. 'Delegation A:host'")
    delegation, _, role = rest.rpartition(":")
    if role == Role.INTERPRETER.value and delegation:
        return Seat(delegation, Role.INTERPRETER, last, devices)
    try:
        return Seat(rest, Role(last), devices=devices)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise argparse.ArgumentTypeError(f"role must be one of: {roles}") from None


def _devices_of(text: str) -> tuple[str, int]:
    """An invitation's text without its *N, and N (1 when absent)."""
    rest, star, count = text.rpartition("*")
    if not star:
        return text, 1
    if not count.isdigit() or not 1 <= int(count) <= MAX_DEVICES_PER_INVITATION:
        raise argparse.ArgumentTypeError(
            f"*N after an invitation admits N devices at once, 1 to {MAX_DEVICES_PER_INVITATION}"
        )
    return rest, int(count)


def _language(text: str) -> str:
    if not LANGUAGE_TAG.fullmatch(text):
        raise argparse.ArgumentTypeError("a language is a tag such as 'en', 'ru' or 'zh-Hans'")
    return text


def _ducking(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("ducking is the floor's level under a channel, from 0 to 1")
    return value


def _delegation_spec(text: str) -> tuple[str, str]:
    name, _, language = text.rpartition(":")
    if not name or not language:
        raise argparse.ArgumentTypeError("a delegation is NAME:LANGUAGE, e.g. 'Delegation A:en'")
    return name, language


def _pin_spec(text: str) -> tuple[str, str]:
    name, _, fingerprint = text.rpartition("=")
    if not name or not fingerprint:
        raise argparse.ArgumentTypeError("a pin is NAME=FINGERPRINT, e.g. 'Delegation A=12345 67890 ...'")
    return name, fingerprint


def create_summit(
    settings: Settings,
    title: str,
    start: datetime,
    duration_minutes: int,
    delegations: Sequence[tuple[str, str]],
    invitations: Sequence[Seat],
    valid_for: timedelta,
    admission: Admission = Admission.HOST,
    at_end: AtEnd = AtEnd.HARD_STOP,
    languages: Sequence[str] = (),
    ducking: float = DEFAULT_DUCKING,
    pins: Mapping[str, str] | None = None,
) -> list[tuple[Seat, str]]:
    """Create a summit in the server's store; returns (seat, link) per invitation. `pins`: each
    delegation's key fingerprint ({name: fingerprint}), for a summit of certified devices."""
    server_files = ServerFiles(settings.data_dir)
    try:
        secret = server_files.invitation_secret()
    except UnsafeSecret as e:
        raise SystemExit(str(e)) from None
    store = server_files.open_store(settings)
    try:
        organiser = Organiser(store, InvitationSigner(secret), settings.base_url)
        try:
            channels = check_languages(languages)
            pinned = check_pins([name for name, _ in delegations], pins or {})
        except ValueError as e:
            raise SystemExit(str(e)) from None
        summit = store.create_summit(
            title, start, duration_minutes, delegations, admission, at_end, channels, ducking, pinned
        )
        try:
            links = organiser.invite_all(summit, invitations, valid_for)
        except ValueError as e:
            raise SystemExit(str(e)) from None
        return list(zip(invitations, links, strict=True))
    finally:
        store.close()


_DEMO_DELEGATIONS = (("Delegation A", "en"), ("Delegation B", "ru"))
_DEMO_LANGUAGES = ("en", "ru")
_DEMO_INVITATIONS = (
    Seat("Delegation A", Role.HOST),
    Seat("Delegation A", Role.PRINCIPAL),
    Seat("Delegation B", Role.PRINCIPAL),
    Seat("Delegation B", Role.DELEGATE),
    Seat("Delegation B", Role.PRESS, devices=3),
    Seat("Delegation A", Role.INTERPRETER, "en"),
    Seat("Delegation B", Role.INTERPRETER, "ru"),
    Seat("Delegation B", Role.INTERPRETER, "ru"),
)


def _print_links(title: str, links: Sequence[tuple[Seat, str]]) -> None:
    print(f"\n{title}: invite links (each admits one device at a time unless it says more)")
    for seat, link in links:
        role = f"{seat.role.value} {seat.language}" if seat.language else seat.role.value
        devices = "1 device" if seat.devices == 1 else f"{seat.devices} devices"
        print(f"  {seat.delegation:<16} {role:<14} {devices:<11} {link}")
    if links:
        summit_id = links[0][1].rpartition("/join/")[2].partition("#")[0]
        print(f"\nTo revoke a link: parley invitation list {summit_id}, then parley invitation revoke ID.")
    print("\nOpen the host link first: the host admits the others from the lobby and runs the phases.")
    print("Join from another terminal with: .venv/bin/parley join '<link>' --name 'Your name'\n")


def _invitation_state(invitation: Invitation, now: datetime) -> str:
    if invitation.revoked:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    if invitation.removed:
        return "removed by the host (its next device waits in the lobby)"
    return "valid"


def list_invitations(settings: Settings, summit_id: str) -> None:
    """Print a summit's invitations from the store: the id `revoke` takes, and each one's state."""
    store = Store(settings.database)
    try:
        summit = store.get_summit(summit_id)
        if summit is None:
            raise SystemExit(f"no summit {summit_id!r} (it is in the link: /join/<summit id>)")
        invitations = store.list_invitations(summit_id)
    finally:
        store.close()
    print(f"{summit.title} (summit {summit_id}): {len(invitations)} invitations")
    now = datetime.now(UTC)
    for invitation in invitations:
        delegation = summit.delegation(invitation.delegation_id)
        role = invitation.role.value + (f" {invitation.language}" if invitation.language else "")
        state = _invitation_state(invitation, now)
        expires = invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        name = delegation.name if delegation else "?"
        print(f"  {invitation.invitation_id}  {name:<16} {role:<14} until {expires}  {state}")


def _local_url(settings: Settings) -> str:
    """Where this machine reaches the server it runs: its own listening address, not the public URL
    (which may be a proxy that does not pass the organiser API)."""
    host = settings.host
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:  # listening on every address
            host = "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def revoke_invitation(settings: Settings, invitation_id: str) -> str:
    """Revoke through the running server, which removes the link's devices at once; if none is
    running here, in the store (no device can be connected then). Returns what happened."""
    url = _local_url(settings)
    token = ServerFiles(settings.data_dir).admin_token()
    try:
        answer = httpx.post(
            f"{url}/api/invitations/{invitation_id}/revoke",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            trust_env=False,  # the server is local: never through a proxy
        )
    except httpx.ConnectError:
        store = Store(settings.database)
        try:
            if not store.revoke_invitation(invitation_id):
                raise SystemExit(f"no invitation {invitation_id!r}") from None
        finally:
            store.close()
        return f"Revoked {invitation_id} in the store. No server answered at {url}: no device was connected."
    if answer.status_code == 404:
        raise SystemExit(f"no invitation {invitation_id!r}")
    if answer.status_code != 200:
        raise SystemExit(f"the server at {url} refused: {answer.status_code} {answer.text}")
    removed = answer.json()["devices_removed"]
    return f"Revoked {invitation_id}: {removed} device(s) with this link removed from the summit."


async def _serve(settings: Settings) -> None:
    try:
        server = ParleyServer(settings)
    except (UnsafeSecret, ValueError) as e:  # ValueError: settings that cannot work (TURN, ports)
        raise SystemExit(str(e)) from None
    await server.start()
    print(f"Parley is serving on {settings.base_url} (data in {settings.data_dir}); Ctrl-C stops it.")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        waiting = asyncio.create_task(stop.wait())
        await asyncio.wait(
            {waiting, asyncio.create_task(server.serve_forever())}, return_when="FIRST_COMPLETED"
        )
    finally:
        await server.stop()


def _default_key_file() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "parley" / "device.key"


@dataclass(frozen=True)
class _Joining:
    link: str
    name: str
    key_file: Path
    listen: str | None
    take_over: bool
    delegation: Fingerprint | None = None
    officer: DelegationKey | None = None
    pins: dict[str, Fingerprint] | None = None


def _officer_seat(args: argparse.Namespace) -> tuple[DelegationKey | None, dict[str, Fingerprint] | None]:
    """The delegation key (asking its passphrase) and the pins the officer publishes."""
    if args.officer is None:
        if args.pin:
            raise SystemExit("--pin goes with --officer: the console publishes the pins")
        return None, None
    try:
        pins = dict(delegation_commands.parse_pin(pin) for pin in args.pin)
    except ValueError as e:
        raise SystemExit(f"parley join --pin: {e}") from None
    if args.passphrase_file is not None:
        passphrase = (args.passphrase_file.read_text().splitlines() or [""])[0]
    else:
        passphrase = getpass.getpass("Passphrase for the delegation key: ")
    try:
        return load_key(args.officer, passphrase), pins or None
    except (DelegationKeyError, OSError) as e:
        raise SystemExit(f"parley join --officer: {e}") from None


def print_call(client: ParleyClient) -> None:
    """The call as this device can prove it: every member of its key group, and any alarm."""
    print(f"\ngroup code: {client.group_code() or '(forming the group)'}")
    for booth in client.booths.values():
        live = client.roster.get(booth.live) if booth.live is not None else None
        print(f"  {booth.language} booth: {', '.join(live.people) if live else 'nobody'} live")
    print(f"  {client.device.delegation}: {', '.join(client.people)} (this device)")
    for member in client.members():
        device = client.roster.get(member.user_id)
        who = f"{device.delegation}: {', '.join(device.people)}" if device else "UNKNOWN"
        feed = client.feeds.get(member.user_id)
        got = f", {feed.video_frames} video and {feed.audio_frames} audio frames decrypted" if feed else ""
        new = ": NEW KEY SINCE LAST CALL, compare the code" if member.user_id in client.new_keys else ""
        print(f"  {who} [user {member.user_id}, {member.status.value.replace('_', ' ')}{new}]{got}")
    if client.certified is not None:
        code = client.enrollment_code
        print(f"  identities: {client.certified.certification.summary()}")
        if code:
            print(f"  WAITING FOR A CERTIFICATE: show your officer the code {code}")
    if client.holding:
        print(
            "  SENDING NOTHING: the key group holds someone this device cannot account for or has not"
            " attested"
        )


def _off_air(client: ParleyClient) -> bool:
    """Nobody is live in this interpreter's booth."""
    booth = client.booths.get(client.device.language or "")
    return booth is None or booth.live is None


async def _join(seat: _Joining, seconds: float, play: Path | None) -> int:
    link, name, listen, take_over = seat.link, seat.name, seat.listen, seat.take_over
    if play is not None:  # any file FFmpeg reads; otherwise a test picture and a 440 Hz tone
        player = MediaPlayer(str(play))
        audio, video = player.audio, player.video
    else:
        audio, video = ToneAudioTrack(440.0), PatternVideoTrack(7)
    choice = DEFAULT_CHOICE if listen is None else None if listen == FLOOR else listen
    seat.key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    prompt = ConsolePrompt() if seat.officer else None
    client = ParleyClient(
        link,
        [name],
        audio=audio,
        video=video,
        listen=choice,
        key_file=seat.key_file,
        known_keys_file=seat.key_file.parent / "known-keys.json",
        on_alarm=lambda text: print(f"\nALARM: {text}"),
        delegation=seat.delegation,
        officer=seat.officer,
        officer_pins=seat.pins,
        on_enrollment_request=prompt.show if prompt else None,
    )
    if prompt is not None:
        prompt.client = client
        lines = read_lines()
        typing = asyncio.create_task(_typed(prompt, lines))
    try:
        await client.join()
    except (JoinError, RequestTimeout, ValueError, KeyFileError) as e:
        print(f"Not admitted: {e}")
        return 1
    print(f"Joined {client.summit.title!r} as {client.device.delegation} {client.device.role.value}.")
    if client.interpreter:
        print(f"Interpreting into {client.device.language}; hearing {client.listening or 'the floor'}.")
    else:
        print(f"Listening to {client.listening or 'the floor'}.")
    try:
        if not client.admitted.is_set():
            print("Waiting in the lobby for the host to admit this device...")
        for _ in range(max(1, int(seconds / 2))):
            await asyncio.sleep(2)
            if client.ended:
                print(f"\nThe stay ended: {client.ended.message}")
                break
            if not client.admitted.is_set():
                continue
            if take_over and client.publisher is not None and _off_air(client):
                try:
                    await client.take_over()
                except (RequestRefused, RequestTimeout) as e:  # another went live first, say
                    print(f"\nNot live: {e}")
            print_call(client)
    finally:
        if prompt is not None:
            typing.cancel()
        await client.leave()
        for track in (audio, video):
            if track is not None:
                track.stop()
    return 0


async def _typed(prompt: ConsolePrompt, lines: asyncio.Queue[str]) -> None:
    while True:
        await prompt.command(await lines.get())


def _web_hash(url: str | None, web_dir: Path | None) -> int:
    """Print the bundle hash of a built client here (`web_dir`), or of what the server at `url` serves."""
    if web_dir is not None:
        files = read_dist(web_dir)
        print(f"bundle sha256 {bundle_hash(manifest(files))} ({len(files)} files in {web_dir})")
        return 0
    assert url is not None
    server = urlsplit(url).netloc  # never print the link itself: its fragment is a credential
    with httpx.Client(timeout=15.0, follow_redirects=False) as client:
        try:
            served = fetch_served_bundle(url, client)
        except (ValueError, httpx.HTTPError) as e:
            print(f"Could not fetch the browser client from {server}: {e}", file=sys.stderr)
            return 1
    print(f"bundle sha256 {served.bundle_hash} ({served.files} files served by {server})")
    for mismatch in served.mismatches:
        print(f"  mismatch: {mismatch}")
    return 1 if served.mismatches else 0


def _web_serve(parley_server: str, host: str, port: int, web_dir: Path) -> int:
    files = read_dist(web_dir)
    if not files:
        raise SystemExit(f"no built browser client in {web_dir} (cd web && npm ci && npm run build)")
    print(
        f"Serving the browser client (bundle sha256 {bundle_hash(manifest(files))}) on http://{host}:{port}"
        f" for the Parley server {origin_of(parley_server)}, which must list this origin in client_origins."
        f"\nOpen invite links through it: parley web-link LINK --client <this origin>"
    )
    uvicorn.run(client_app(web_dir, parley_server), host=host, port=port, log_level="warning")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description="End-to-end encrypted summits.")
    parser.add_argument("--config", type=Path, help="a TOML settings file (see parley.server.config)")
    parser.add_argument("--data-dir", type=Path, help="where state lives (default ~/.local/share/parley)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--demo", action="store_true", help="create a demo summit first and print its links")
    summit = commands.add_parser("summit", help="manage summits").add_subparsers(dest="action", required=True)
    create = summit.add_parser("create", help="create a summit and print its invite links")
    create.add_argument("--title", required=True)
    create.add_argument("--start", type=datetime.fromisoformat, default=None, help="ISO 8601 (default: now)")
    create.add_argument("--duration", type=int, default=120, help="minutes (default 120)")
    create.add_argument(
        "--delegation", type=_delegation_spec, action="append", required=True, metavar="NAME:LANG"
    )
    create.add_argument(
        "--invite",
        type=_invitation_spec,
        action="append",
        default=[],
        metavar="DELEGATION:ROLE[*N]",
        help="repeatable; an interpreter is DELEGATION:interpreter:LANGUAGE; *N: the link admits N devices"
        " at once (default 1)",
    )
    create.add_argument(
        "--language", type=_language, action="append", default=[], help="an interpretation channel"
    )
    create.add_argument(
        "--ducking", type=_ducking, default=DEFAULT_DUCKING, help="the floor's level under a channel (0.2)"
    )
    create.add_argument("--valid-hours", type=int, default=72)
    create.add_argument(
        "--admission", choices=[a.value for a in Admission], default="host", help="who admits from the lobby"
    )
    create.add_argument("--at-end", choices=[a.value for a in AtEnd], default="hard_stop")
    create.add_argument(
        "--pin",
        type=_pin_spec,
        action="append",
        default=[],
        metavar="NAME=FINGERPRINT",
        help="a delegation's key fingerprint, as its officer read it (every delegation or none):"
        " its devices must then be certified (docs/identity.md)",
    )
    invitation = commands.add_parser("invitation", help="list or revoke a summit's invitations")
    invitations = invitation.add_subparsers(dest="action", required=True)
    invitations.add_parser("list", help="a summit's invitations and their ids").add_argument("summit_id")
    invitations.add_parser(
        "revoke", help="the link admits no one; its devices leave the summit now"
    ).add_argument("invitation_id")
    joining = commands.add_parser("join", help="join a summit from an invite link, as a Python device")
    joining.add_argument("link")
    joining.add_argument("--name", required=True, help="who is at this device")
    joining.add_argument("--seconds", type=float, default=20.0)
    joining.add_argument("--play", type=Path, help="publish this audio/video file instead of a test picture")
    joining.add_argument(
        "--listen", metavar="LANGUAGE", help="hear this language channel over the floor ('floor': the floor)"
    )
    joining.add_argument(
        "--take-over", action="store_true", help="an interpreter: go live when the booth is free"
    )
    joining.add_argument(
        "--key-file",
        type=Path,
        default=_default_key_file(),
        help="this device's DAVE signature key, made on first use (0600): keeps its pairwise codes"
        " the same from call to call (default: %(default)s)",
    )
    joining.add_argument(
        "--delegation",
        type=Fingerprint.parse,
        help="this device's own delegation's key fingerprint (30 digits): certified mode",
    )
    joining.add_argument(
        "--officer", type=Path, metavar="KEYFILE", help="be the delegation's officer console"
    )
    joining.add_argument(
        "--passphrase-file", type=Path, help="the delegation key's passphrase (scripts, tests)"
    )
    joining.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="NAME=FINGERPRINT",
        help="the console publishes these pins",
    )
    delegation_commands.add_parser(commands)
    record_commands.add_parser(commands)
    commands.add_parser("e2ee-demo", help="the end-to-end encryption demo, in one process, without a server")
    web_hash = commands.add_parser(
        "web-hash", help="print the bundle hash of the browser client a server serves (or of a build here)"
    )
    web_hash.add_argument("url", nargs="?", help="the server's address or an invite link")
    web_hash.add_argument("--dir", type=Path, help="a built client instead (web/dist)")
    web_serve = commands.add_parser(
        "web-serve", help="serve the browser client from this origin, for a delegation's own copy"
    )
    web_serve.add_argument("--server", type=origin_of, required=True, help="the Parley server's address")
    web_serve.add_argument("--host", default="127.0.0.1")
    web_serve.add_argument("--port", type=int, default=8480)
    web_serve.add_argument("--web-dir", type=Path, default=default_web_dir(), help="default: web/dist here")
    web_link = commands.add_parser("web-link", help="rewrite an invite link to open a delegation's client")
    web_link.add_argument("link")
    web_link.add_argument("--client", type=origin_of, required=True, help="where the client is served")
    args = parser.parse_args(argv)
    if args.command == "e2ee-demo":
        return _e2ee_demo()
    if args.command == "delegation":
        return delegation_commands.run(args)
    if args.command in ("verify", "record"):
        return record_commands.run(args)
    if args.command == "web-hash":
        if (args.url is None) == (args.dir is None):
            parser.error("web-hash takes a URL or --dir, one of them")
        return _web_hash(args.url, args.dir)
    if args.command == "web-serve":
        return _web_serve(args.server, args.host, args.port, args.web_dir)
    if args.command == "web-link":
        try:
            print(client_link(args.link, args.client))
        except ValueError as e:
            parser.error(str(e))
        return 0
    if args.command == "join":
        officer, pins = _officer_seat(args)
        seat = _Joining(
            args.link, args.name, args.key_file, args.listen, args.take_over, args.delegation, officer, pins
        )
        return asyncio.run(_join(seat, args.seconds, args.play))
    settings = load_settings(args.config, data_dir=args.data_dir)
    if args.command == "invitation":
        if args.action == "list":
            list_invitations(settings, args.summit_id)
        else:
            print(revoke_invitation(settings, args.invitation_id))
        return 0
    if args.command == "summit":
        start = args.start or datetime.now(UTC)
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        links = create_summit(
            settings,
            args.title,
            start,
            args.duration,
            args.delegation,
            args.invite,
            timedelta(hours=args.valid_hours),
            Admission(args.admission),
            AtEnd(args.at_end),
            args.language,
            args.ducking,
            dict(args.pin),
        )
        _print_links(args.title, links)
        return 0
    if args.demo:
        title = "Demo summit"
        links = create_summit(
            settings,
            title,
            datetime.now(UTC),
            120,
            _DEMO_DELEGATIONS,
            _DEMO_INVITATIONS,
            timedelta(days=3),
            languages=_DEMO_LANGUAGES,
        )
        _print_links(title, links)
    asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
