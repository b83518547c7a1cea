"""Python API traps: samples without a sample rate, and transcript strings that look like paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aligner.align import _as_transcript_path
from aligner.audio import AudioError
from aligner.text.errors import TranscriptError
from conftest import speechlike


def test_samples_without_sample_rate_are_an_error(aligner):
    with pytest.raises(AudioError, match="sample_rate is required") as info:
        aligner.align(speechlike(2.6, 12000), "hello world")
    assert "\n" not in str(info.value)


def test_samples_at_their_own_rate_keep_their_duration(aligner, tmp_path: Path):
    samples = speechlike(2.6, 12000)
    result = aligner.align(samples, "hello world", sample_rate=12000)
    assert result.duration == pytest.approx(2.6, abs=0.01)  # not 1.95 s (read as 16 kHz)
    sf.write(str(tmp_path / "a.wav"), samples, 12000)  # a file carries its own rate
    assert aligner.align(tmp_path / "a.wav", "hello world").duration == pytest.approx(2.6, abs=0.01)


@pytest.mark.parametrize("name", ["missing.txt", "talk.TEXTGRID", "sub/missing.lab", "./missing",
                                  "{tmp}/missing", "{tmp}/my data/missing.txt", "{tmp}/utt1"])
def test_missing_transcript_path_is_not_aligned_as_text(aligner, tmp_path: Path, name: str):
    transcript = name.format(tmp=tmp_path)
    with pytest.raises(TranscriptError, match="transcript not found") as info:
        aligner.align(speechlike(1.0), transcript, sample_rate=16000)
    assert str(info.value).startswith(transcript + ":")  # as written, "./" included
    assert "\n" not in str(info.value)


def test_which_strings_are_file_names(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "my notes.txt").write_text("hello", encoding="utf-8")
    for text in ("and/or", "24/7", "hello world", "please read notes.txt", "Dr. Who", "a.b",
                 "~hmm ok", "~hmm ok.txt", "~um"):  # a '~' word is not a home folder
        assert _as_transcript_path(text) is None, text
    for text in ("notes.txt", "x.lab", "data/utt1", "/abs/x", "~/talk", "my notes.txt",
                 "~no-such-user-here/talk.txt"):
        assert _as_transcript_path(text) is not None, text
    assert _as_transcript_path("~/talk") == Path.home() / "talk"
    assert _as_transcript_path("~no-such-user-here/x.lab") == Path("~no-such-user-here/x.lab")


def test_existing_transcript_file_given_as_a_string_is_read(aligner, tmp_path: Path):
    (tmp_path / "t.txt").write_text("hello world", encoding="utf-8")
    result = aligner.align(speechlike(1.5), str(tmp_path / "t.txt"), sample_rate=16000)
    assert [w.label for w in result.words if w.label] == ["hello", "world"]
    with pytest.raises(TranscriptError, match="is a directory"):
        aligner.align(speechlike(1.0), tmp_path, sample_rate=16000)


def test_integer_samples_with_rate(aligner):
    pcm = (speechlike(1.5, 8000) * 32767).astype(np.int16)
    assert aligner.align(pcm, "hello", sample_rate=8000).duration == pytest.approx(1.5, abs=0.01)


def test_integer_pcm_values_in_a_float_array_are_an_audio_error(aligner, tmp_path: Path):
    """`np.frombuffer(raw, np.int16).astype(np.float32)` aligned and was flagged `clipped`
    ("record at a lower input level"); a float WAV written at that scale too. A float file's
    headroom a little past full scale is fine."""
    pcm = (speechlike(1.5, 8000) * 32767).astype(np.int16)
    with pytest.raises(AudioError, match="integer PCM values stored as floats"):
        aligner.align(pcm.astype(np.float32), "hello", sample_rate=8000)
    sf.write(str(tmp_path / "f.wav"), pcm.astype(np.float32), 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"f\.wav: floating-point samples reach 7\d{3}\.\d"):
        aligner.align(tmp_path / "f.wav", "hello")
    assert aligner.align(speechlike(1.5, 8000) * 4.0, "hello", sample_rate=8000).duration > 1


@pytest.mark.parametrize("samples", [np.ones(16000, dtype=bool), np.full(16000, "a"),
                                     np.ones(16000, dtype=complex)])
def test_samples_that_are_not_numbers_of_sound_are_an_audio_error(aligner, samples):
    with pytest.raises(AudioError, match="integer PCM or floating point"):
        aligner.align(samples, "hello", sample_rate=16000)


@pytest.mark.parametrize("samples", [np.zeros(0, np.float32), np.zeros((0, 2), np.float32),
                                     np.zeros((2, 0), np.int16)])
def test_empty_samples_of_any_shape_are_zero_length(aligner, samples):
    """[0, 2] was mixed as two channels of nothing and reported as "2 samples are NaN"."""
    with pytest.raises(AudioError, match="zero length"):
        aligner.align(samples, "hello", sample_rate=16000)


@pytest.mark.parametrize("transcript", [b"hello world", None, 42, ["hello", "world"]])
def test_a_transcript_that_is_not_text_or_a_path_is_a_type_error(aligner, transcript):
    with pytest.raises(TypeError, match="transcript must be text") as info:
        aligner.align(speechlike(1.0), transcript, sample_rate=16000)
    assert ("decode" in str(info.value)) == isinstance(transcript, bytes)


@pytest.mark.parametrize("name,says", [("talk.eaf", "ELAN"), ("talk.trs", "Transcriber"),
                                       ("talk.txt", "holds XML"), ("talk.wav", "audio file"),
                                       ("nodecl.lab", "holds XML")])
def test_annotation_xml_and_audio_are_not_read_as_a_transcript(aligner, tmp_path: Path,
                                                               name: str, says: str):
    """An ELAN file given as the transcript was aligned with its tags as words, exit 0."""
    path = tmp_path / name
    declared = "" if name.startswith("nodecl") else '<?xml version="1.0"?>\n'
    path.write_text(declared + '<ANNOTATION_DOCUMENT AUTHOR="x"><HEADER/></ANNOTATION_DOCUMENT>\n',
                    encoding="utf-8")
    with pytest.raises(TranscriptError, match=says) as info:
        aligner.align(speechlike(1.0), path, sample_rate=16000)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_markup_in_angle_brackets_is_no_xml(aligner, tmp_path: Path):
    """`<unk>` and Kaldi's `<s> ... </s>` open and close nothing an annotation tool wrote."""
    for text in ("<unk> hello there", "<s> hello there </s>"):
        path = tmp_path / "t.lab"
        path.write_text(text, encoding="utf-8")
        assert aligner.align(speechlike(1.5), path, sample_rate=16000).words


@pytest.mark.parametrize("suffix", [".json", ".csv", ".ctm", ".tsv", ".srt", ".vtt"])
def test_an_alignment_file_is_not_read_as_a_transcript(aligner, tmp_path: Path, suffix: str):
    """This tool's own JSON given back as the transcript used to align its syntax as words."""
    out = tmp_path / f"talk{suffix}"
    out.write_text('{"tiers": {"words": {"entries": [[0.1, 0.4, "hello"]]}}}', encoding="utf-8")
    for given in (out, str(out), f"talk{suffix}"):
        with pytest.raises(TranscriptError, match="not a transcript|transcript not found"):
            aligner.align(speechlike(1.0), given, sample_rate=16000)
    with pytest.raises(TranscriptError, match=f"a \\{suffix} file is read as an alignment"):
        aligner.align(speechlike(1.0), out, sample_rate=16000)


def test_model_outputs_of_another_recording_are_refused(aligner):
    from aligner.formats import Segment

    wave = speechlike(1.0)
    other = aligner.encode(speechlike(3.0))
    with pytest.raises(ValueError, match="encode this recording"):
        aligner.align_waveform(wave, [Segment("hello world", "<t>")], encoded=other)
    (a,) = aligner.align_waveform(wave, [Segment("hello world", "<t>")], encoded=aligner.encode(wave))
    assert a.duration == pytest.approx(1.0, abs=0.01)


def test_writers_refuse_unknown_formats_and_suffixes_of_another_format(aligner, tmp_path: Path):
    from aligner.formats import write_file, write_outputs

    result = aligner.align(speechlike(1.0), "hello world", sample_rate=16000)
    with pytest.raises(ValueError, match="unknown output format 'pdf'"):
        write_outputs(result, tmp_path / "t", ["textgrid", "pdf"])
    with pytest.raises(ValueError, match="unknown output format 'xyz'"):
        write_file(result, tmp_path / "x.xyz", "xyz")
    with pytest.raises(ValueError, match="x.csv: a .csv file name for json output"):
        write_file(result, tmp_path / "x.csv", "json")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    written = write_outputs(result, str(tmp_path / "t"), ["textgrid", "json"])  # a str base works
    assert [p.name for p in written] == ["t.TextGrid", "t.json"]
    assert write_file(result, str(tmp_path / "y.log"), "json") == [tmp_path / "y.log"]


@pytest.mark.parametrize("convert", [lambda t: t.requires_grad_(), lambda t: t.bfloat16(),
                                     lambda t: t.double(), lambda t: (t * 32767).short()])
def test_torch_tensors_are_samples(aligner, convert):
    """A tensor that requires grad, is bfloat16 (or on a GPU) could not become a numpy array."""
    import torch

    wave = speechlike(1.5, 8000)
    tensor = convert(torch.from_numpy(wave.copy()))
    result = aligner.align(tensor, "hello world", sample_rate=8000)
    expected = aligner.align(wave, "hello world", sample_rate=8000)
    assert result.duration == expected.duration == pytest.approx(1.5, abs=0.01)
    assert aligner.align(torch.stack([tensor, tensor], 1), "hello world",
                         sample_rate=8000).duration == expected.duration
    with pytest.raises(AudioError, match="meta device"):
        aligner.align(tensor.to("meta"), "hello world", sample_rate=8000)


def test_a_tensor_or_a_multichannel_array_is_one_recording_for_encode(aligner):
    """encode iterated a 1-D tensor as a batch (len() of a 0-d tensor) and unpacked a 2-D
    array as [B, N] (too many values to unpack): both are one recording, as in align."""
    import torch

    wave = speechlike(1.5)
    one = aligner.encode(wave)
    for same in (torch.from_numpy(wave.copy()), np.stack([wave, wave], 1),
                 torch.from_numpy(np.stack([wave, wave])).requires_grad_()):
        got = aligner.encode(same)
        assert got.duration == one.duration
        torch.testing.assert_close(got.log_probs, one.log_probs)
    batch = aligner.encode([torch.from_numpy(wave.copy()), wave[:8000]])
    assert [e.duration for e in batch] == [1.5, 0.5]


@pytest.mark.parametrize("rate", [8000, np.int64(8000), 8000.0, np.float32(8000)])
def test_any_whole_number_is_a_sample_rate(aligner, rate):
    samples = speechlike(1.5, 8000)
    assert aligner.align(samples, "hello", sample_rate=rate).duration == pytest.approx(1.5, abs=0.01)


@pytest.mark.parametrize("rate,error", [("8000", TypeError), (True, TypeError),
                                        (8000.5, AudioError), (-8000, AudioError)])
def test_a_sample_rate_that_is_not_one_is_a_clear_error(aligner, rate, error):
    """"8000" failed inside with "'<=' not supported between instances of 'str' and 'int'"."""
    with pytest.raises(error, match="sample_rate must be a number|invalid sample rate") as info:
        aligner.align(speechlike(1.5, 8000), "hello", sample_rate=rate)
    assert "\n" not in str(info.value)
    if rate == "8000":
        assert str(info.value) == "sample_rate must be a number of samples per second, got '8000'"


def test_an_open_file_is_audio(aligner, tmp_path: Path):
    """open("x.wav", "rb") was taken as an array without a sample rate."""
    sf.write(str(tmp_path / "x.wav"), speechlike(1.5, 8000), 8000)
    with open(tmp_path / "x.wav", "rb") as handle:
        result = aligner.align(handle, "hello world")
    assert result.duration == pytest.approx(1.5, abs=0.01)


def test_text_given_as_text_is_never_read_as_a_file(aligner, tmp_path: Path, monkeypatch):
    """A service passing a user's prompt must not have it read as a file: "/etc/hostname" as a
    transcript aligned the machine's name."""
    secret = tmp_path / "secret.txt"
    secret.write_text("classified words", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    wave = speechlike(1.5)
    (tmp_path / "see").mkdir()
    for prompt in ("./secret.txt", "secret.txt", "see/elephant"):
        words = [w.label for w in aligner.align(wave, text=prompt, sample_rate=16000).words
                 if w.label]
        assert "classified" not in words and words  # aligned as the words it is
    assert [w.label for w in aligner.align(wave, secret, sample_rate=16000).words if w.label] \
        == ["classified", "words"]  # a Path (or a file-like str as `transcript`) is still a file
    for bad in (dict(transcript="hello", text="hello"), dict(text=b"hello")):
        with pytest.raises(TypeError, match="not both|must be a str"):
            aligner.align(wave, sample_rate=16000, **bad)
    with pytest.raises(TypeError, match="or the words as text="):
        aligner.align(wave, sample_rate=16000)


@pytest.mark.parametrize("data", [b"RIFF....WAVEfmt ", bytearray(b"abc"), memoryview(b"abc"), None])
def test_audio_as_bytes_is_a_type_error_that_says_what_to_do(aligner, data):
    """Raw bytes were taken for samples: "sample_rate is required", or "got ()" with a rate."""
    with pytest.raises(TypeError, match="io.BytesIO" if data is not None else "is None"):
        aligner.align(data, "hello", sample_rate=16000)


def test_swapped_audio_and_transcript_are_named_as_swapped(aligner, example_pair):
    """The CLI said the arguments were swapped; the API said the recording was a transcript
    that is not UTF-8."""
    from aligner.align import AlignmentError

    wav, txt = example_pair
    for call in (aligner.align, aligner.align_speakers):
        with pytest.raises(AlignmentError, match="looks like the transcript .* give the audio first"):
            call(str(txt), str(wav))
    from cli_helpers import cli

    result = cli(txt, wav)
    assert result.exit_code == 2 and "give the audio first (ottc-align AUDIO TRANSCRIPT)" in result.stderr


@pytest.mark.parametrize("rate", [50, 1000, 10**9])
def test_a_sample_rate_no_recording_has_is_refused_by_name(aligner, rate):
    """50 Hz made 1 s of samples 320 s of audio to align; 10**9 was reported as silence."""
    with pytest.raises(AudioError, match=f"sample rate {rate} Hz is not a speech recording's"):
        aligner.align(speechlike(1.0), "hello", sample_rate=rate)


def test_thresholds_of_the_wrong_type_fail_at_load(tiny_model_dir):
    from aligner.align import Aligner

    with pytest.raises(TypeError, match="aligner.checks.Thresholds"):
        Aligner.load(tiny_model_dir, device="cpu", thresholds={"min_transcript_fit": 0.01})


def test_devices_are_named_by_str_or_torch_device_and_a_missing_one_is_a_device_error():
    import torch

    from aligner.align import DeviceError, resolve_device

    assert resolve_device(torch.device("cpu")) == "cpu"
    if not torch.backends.mps.is_available():
        with pytest.raises(DeviceError, match="'mps' was requested"):
            resolve_device("mps")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="'cuda' was requested.*use cpu or auto"):
            resolve_device(torch.device("cuda"))
    with pytest.raises(TypeError, match="device must be"):
        resolve_device(0)


@pytest.mark.parametrize("head, kind", [
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "MP4/M4A"),
    (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81", "WebM/Matroska"),
    (b"#!AMR\n" + bytes(10), "AMR"),
])
def test_an_upload_in_a_format_libsndfile_cannot_read_says_how_to_convert_it(
        aligner, tmp_path: Path, head: bytes, kind: str):
    """A browser's upload in a BytesIO said only "Format not recognised"; a file of that format
    under another suffix (a .wav that is an M4A) is told by its bytes too."""
    import io

    data = head + bytes(2048)
    with pytest.raises(AudioError, match=f"{kind} audio cannot be read.*ffmpeg -i input output.wav"):
        aligner.align(io.BytesIO(data), "hello")
    (tmp_path / "clip.wav").write_bytes(data)
    with pytest.raises(AudioError, match=f"clip.wav: {kind} audio cannot be read.*ffmpeg -i "
                                         r"\S*clip\.wav \S*clip-converted\.wav$"):
        aligner.align(tmp_path / "clip.wav", "hello")


def test_a_file_object_read_to_its_end_or_empty_says_so(aligner):
    """The same BytesIO aligned twice, or an empty one, was "not a readable audio file (Format
    not recognised)", which sent the user to look at a recording that was fine."""
    import io

    buffer = io.BytesIO()
    sf.write(buffer, speechlike(1.0), 16000, format="WAV")
    buffer.seek(0)
    assert aligner.align(buffer, "hello").duration == pytest.approx(1.0)
    with pytest.raises(AudioError, match=r"at its end \(\d+ bytes read already\): seek\(0\)"):
        aligner.align(buffer, "hello")
    with pytest.raises(AudioError, match="the file object is empty"):
        aligner.align(io.BytesIO(b""), "hello")

    class Chunks:  # a stream whose read gives a bytearray (it can seek and tell)
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def read(self, n=-1):
            return bytearray(self.inner.read(n))

        def seek(self, *where):
            return self.inner.seek(*where)

        def tell(self):
            return self.inner.tell()

    assert aligner.align(Chunks(buffer.getvalue()), "hello").duration == pytest.approx(1.0)


def test_what_a_service_gets_back_is_tidy(aligner, tiny_model_dir, tmp_path: Path):
    """A web service's complaints: loading the model moved torch's global random state, a
    result's repr printed every frame weight (9,700 characters for 3 s), and `text` kept the
    transcript file's newline."""
    import torch

    from aligner import Aligner

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Aligner.load(tiny_model_dir)
    assert torch.equal(torch.rand(3), expected)
    (tmp_path / "t.txt").write_text("hello there\n", encoding="utf-8")
    sf.write(tmp_path / "a.wav", speechlike(1.5), 16000)
    result = aligner.align(tmp_path / "a.wav", tmp_path / "t.txt")
    assert result.text == "hello there"
    assert result.alpha is not None and "alpha" not in repr(result)


def test_what_a_speaker_can_fix_has_a_class_of_its_own(aligner):
    """A service had to parse messages to tell a muted microphone from a prompt read only
    half-way (`vars(err) == {}`)."""
    from aligner.align import AlignmentError, AudioTooShortError
    from aligner.audio import SilentAudioError

    with pytest.raises(SilentAudioError, match="silent"):
        aligner.align(np.zeros(16000, dtype=np.float32), text="hello", sample_rate=16000)
    assert issubclass(SilentAudioError, AudioError)
    with pytest.raises(AudioTooShortError, match="too short for its transcript"):
        aligner.align(speechlike(0.3), text="the quick brown fox jumps over the lazy dog",
                      sample_rate=16000)
    assert issubclass(AudioTooShortError, AlignmentError)


def test_a_recording_too_short_for_its_text_where_nobody_speaks_says_so(aligner):
    """Review 121: a learner who said nothing, in a clip too short for the prompt, was told the
    recording stopped early (`AudioTooShortError`), as one who read half the prompt is."""
    from aligner.align import AudioTooShortError, NoSpeechError

    room = np.random.default_rng(0).normal(0, 0.003, 8000).astype(np.float32)  # 0.5 s of hiss
    text = "the quick brown fox jumps over the lazy dog"
    with pytest.raises(NoSpeechError, match="nobody seems to speak"):
        aligner.align(room, text=text, sample_rate=16000)
    assert issubclass(NoSpeechError, AudioTooShortError)
    with pytest.raises(AudioTooShortError) as spoken:  # a voice, stopped early
        aligner.align(speechlike(0.3), text=text, sample_rate=16000)
    assert not isinstance(spoken.value, NoSpeechError)
