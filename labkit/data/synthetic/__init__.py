"""The embedded default corpus: synthetic speakers in VoxCeleb's directory layout.

VoxCeleb cannot be downloaded everywhere, so ``make_corpus`` writes a small corpus that *is* a
speaker-verification problem: every speaker has stable vocal traits, and every session
("video") has its own channel. A speaker's voice is learnable; a session's channel is what a
naive system hears first. Read in this order:

- ``voice``: speakers (traits drawn from measured population data) and the synthesiser;
- ``channel``: sessions (the day's voice, microphone, room, noise, level) and ``record``;
- ``corpus``: presets, the plan of speakers/sessions/utterances, trials, the files on disk;
- ``baseline``: the training-free mean log-mel baseline that says how hard a corpus is.
"""

from labkit.data.synthetic.baseline import baseline_eer, baseline_scores, mean_logmel, session_eers
from labkit.data.synthetic.channel import Session, babble, draw_session, record
from labkit.data.synthetic.corpus import GENERATOR_VERSION, PRESETS, Preset, make_corpus, make_trials, plan_corpus
from labkit.data.synthetic.voice import Speaker, draw_speaker, random_stream, synthesize_speech

__all__ = [
    "GENERATOR_VERSION", "PRESETS", "Preset", "Session", "Speaker", "babble", "baseline_eer", "baseline_scores",
    "draw_session", "draw_speaker", "make_corpus", "make_trials", "mean_logmel", "plan_corpus", "random_stream",
    "record", "session_eers", "synthesize_speech",
]
