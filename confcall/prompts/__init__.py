"""Voice prompts and waiting music: a zh/en text catalog rendered with espeak-ng to 8 kHz
int16 WAVs (cached, replaceable by operator recordings), numbers/amounts as fragment-key
sequences, and a synthesised default waiting piece.

``load_all()`` → ``{"zh": PromptLibrary, "en": PromptLibrary}``; ``lib.audio(key)``;
``say_amount("zh", 1234)`` → keys to play; ``music_audio()`` → the waiting music.
"""
from .catalog import LANGS, Catalog, PromptError, load_catalog
from .library import PromptLibrary, load_all
from .music import build_default_music, dtmf_pairs, import_music, music_audio, synthesize
from .render import RenderReport, build, import_recording, prompt_dir, remove_recording
from .say import say_amount, say_digits, say_number, say_seat, spell

__all__ = [
    "LANGS",
    "Catalog",
    "PromptError",
    "PromptLibrary",
    "RenderReport",
    "build",
    "build_default_music",
    "dtmf_pairs",
    "import_music",
    "import_recording",
    "load_all",
    "load_catalog",
    "music_audio",
    "prompt_dir",
    "remove_recording",
    "say_amount",
    "say_digits",
    "say_number",
    "say_seat",
    "spell",
    "synthesize",
]
