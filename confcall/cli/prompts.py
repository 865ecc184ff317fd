"""`confcall prompts …`: render the voice prompts, list them, import operator recordings and
music, and show how a number or an amount is spoken.

cli.py registers it with ``main.add_command(prompts)``. Every PromptError/ValueError becomes a
one-line ``Error: …`` and exit status 1. ``--dir`` (or ``$CONFCALL_PROMPT_DIR``) selects the
prompt directory, default ``<repo>/var/prompts``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from confcall.prompts import say as _say
from confcall.prompts.catalog import LANGS, PromptError, load_catalog
from confcall.prompts.render import build, import_recording, prompt_dir, remove_recording

__all__ = ["prompts"]

_FILE = click.Path(dir_okay=False, path_type=Path)
_LANG = click.Choice(LANGS)
_SAY: dict[str, Callable[[str, Any], list[str]]] = {
    "digits": _say.say_digits, "number": _say.say_number, "amount": _say.say_amount,
    "seat": _say.say_seat}


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (PromptError, ValueError) as e:
        raise click.ClickException(str(e)) from e


def _dir(ctx: click.Context) -> Path:
    return prompt_dir(ctx.obj.get("prompt_dir") if isinstance(ctx.obj, dict) else None)


@click.group()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Prompt directory (default $CONFCALL_PROMPT_DIR or "
                                 "<repo>/var/prompts).")
@click.pass_context
def prompts(ctx: click.Context, directory: Path | None) -> None:
    """Voice prompts (zh/en) and waiting music."""
    ctx.ensure_object(dict)
    if directory is not None:
        ctx.obj["prompt_dir"] = directory


@prompts.command("build")
@click.option("--lang", type=click.Choice([*LANGS, "all"]), default="all", show_default=True,
              help="prompt language")
@click.option("--key", "keys", multiple=True, metavar="KEY",
              help="Only this key (repeatable); default every key.")
@click.option("--force", is_flag=True, help="Render every key again, changed or not.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="espeak-ng/sox processes at once (default 2 × CPUs, at most 8).")
@click.pass_context
def build_cmd(ctx: click.Context, lang: str, keys: tuple[str, ...], force: bool,
              jobs: int | None) -> None:
    """Render the catalog with espeak-ng (only what changed) and make the default music."""
    from confcall.prompts.music import build_default_music

    langs = LANGS if lang == "all" else (lang,)
    with _errors():
        report = build(langs, keys=keys or None, directory=_dir(ctx), force=force, jobs=jobs)
        music = build_default_music(_dir(ctx), force=force)
    click.echo(f"prompts {', '.join(langs)}: {report} → {_dir(ctx)}")
    click.echo(f"music: {music}")


@prompts.command("list")
@click.option("--lang", type=click.Choice([*LANGS, "all"]), default="all", show_default=True,
              help="prompt language")
@click.pass_context
def list_cmd(ctx: click.Context, lang: str) -> None:
    """Every key with its text and what plays (recorded / tts / missing)."""
    from confcall.prompts.library import PromptLibrary

    langs = LANGS if lang == "all" else (lang,)
    cat = load_catalog()
    libs = [PromptLibrary(lg, _dir(ctx), cat) for lg in langs]
    width = max(len(k) for k in cat)
    for key in cat:
        for lib in libs:
            src = lib.source(key) or "missing"
            click.echo(f"{key:<{width}}  {lib.lang}  {src:<8}  {lib.text(key)}")


@prompts.command("import")
@click.argument("key")
@click.argument("wav", type=_FILE)
@click.option("--lang", type=_LANG, required=True, help="prompt language")
@click.pass_context
def import_cmd(ctx: click.Context, key: str, wav: Path, lang: str) -> None:
    """Replace KEY's synthesised prompt with an operator recording (any WAV)."""
    with _errors():
        dst = import_recording(key, lang, wav, directory=_dir(ctx))
    click.echo(f"{key} ({lang}): {wav} → {dst}")


@prompts.command("unimport")
@click.argument("key")
@click.option("--lang", type=_LANG, required=True, help="prompt language")
@click.pass_context
def unimport_cmd(ctx: click.Context, key: str, lang: str) -> None:
    """Drop KEY's operator recording: the synthesised prompt plays again."""
    with _errors():
        load_catalog().check_key(key)
        gone = remove_recording(key, lang, directory=_dir(ctx))
    click.echo(f"{key} ({lang}): " + ("recording removed" if gone else "had no recording"))


@prompts.group("music")
def music_grp() -> None:
    """Waiting music: the synthesised default or an operator file."""


@music_grp.command("import")
@click.argument("file", type=_FILE)
@click.pass_context
def music_import_cmd(ctx: click.Context, file: Path) -> None:
    """Convert FILE (anything sox reads) to the waiting music; replaces the default."""
    from confcall.prompts._audio import read_wav
    from confcall.prompts.music import dtmf_pairs, import_music

    with _errors():
        dst = import_music(file, _dir(ctx))
        audio = read_wav(dst)
    click.echo(f"music: {file} → {dst} ({len(audio) / 8000:.1f} s)")
    ms = dtmf_pairs(audio)
    if ms >= 30.0:
        click.echo(f"warning: the music holds a DTMF-like tone pair for {ms:.0f} ms: "
                   "keypad detection may fire on it; choose another piece", err=True)


@music_grp.command("default")
@click.pass_context
def music_default_cmd(ctx: click.Context) -> None:
    """Forget the operator's music: the synthesised piece plays again."""
    from confcall.prompts.music import build_default_music, remove_music

    gone = remove_music(_dir(ctx))
    path = build_default_music(_dir(ctx))
    click.echo(("operator music removed; " if gone else "") + f"playing {path}")


@prompts.command("say")
@click.option("--lang", type=_LANG, required=True, help="prompt language")
@click.argument("kind", type=click.Choice(list(_SAY)))
@click.argument("value")
def say_cmd(lang: str, kind: str, value: str) -> None:
    """Print the fragment keys (and their text) for a digit string, number, amount in fen or
    seat, e.g. `say --lang zh amount 1234` (negative: `say --lang zh amount -- -1234`)."""
    with _errors():
        if kind == "digits":
            arg: str | int = value
        else:
            try:
                arg = int(value)
            except ValueError:
                raise PromptError(f"{kind} must be an integer, got {value!r}") from None
        keys = _SAY[kind](lang, arg)
    click.echo(" ".join(keys))
    click.echo(_say.spell(lang, keys))
