"""`psvl <command>` turns the library's user-facing errors into one stderr line and exit code 2; bugs keep
their traceback, and `-v` shows the traceback of the caught ones too."""

from __future__ import annotations

import pytest
import torch
from model_fixtures import TINY, toy_world

from psvl.cli import main
from psvl.config import default
from psvl.localization.train import TrainConfig, train

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    queries, feats = toy_world(n_videos=4)
    train(queries, feats, out, TINY, default(TrainConfig, "train", epochs=1, batch_size=8, threads=1))
    return out


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("psvl predict: ") and not err[0].startswith("psvl predict: psvl predict")
    return err[0]


def test_a_missing_model_folder_is_one_line_and_exit_2(tmp_path, capsys):
    rc = main(["predict", "--model", str(tmp_path / "nope"), "--video", "x.mp4", "--query", "q"])
    assert rc == 2
    line = _one_error_line(capsys)
    assert f"model {tmp_path / 'nope'}: no such folder or file" in line and "psvl train --out-dir" in line


def test_a_model_folder_without_best_pt_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "model").mkdir()
    assert main(["predict", "--model", str(tmp_path / "model"), "--video", "x.mp4", "--query", "q"]) == 2
    assert f"model folder {tmp_path / 'model'} has no best.pt" in _one_error_line(capsys)


def test_an_unreadable_checkpoint_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "best.pt").write_bytes(b"not a checkpoint\n" * 3)
    assert main(["predict", "--model", str(tmp_path), "--video", "x.mp4", "--query", "q"]) == 2
    assert f"{tmp_path / 'best.pt'}: not a readable psvl checkpoint" in _one_error_line(capsys)


@pytest.mark.parametrize(
    "content, reason",
    [(None, "missing file"), (b"", "empty file"), (b"\x00garbage" * 100, "cannot open as a video")],
)
def test_a_bad_video_is_one_line_and_exit_2(model_dir, tmp_path, capsys, content, reason):
    video = tmp_path / "bad.mp4"
    if content is not None:
        video.write_bytes(content)
    assert main(["predict", "--model", str(model_dir), "--video", str(video), "--query", "ball spins"]) == 2
    line = _one_error_line(capsys)
    # a missing file is not a decoding problem: no ffprobe advice
    assert reason in line and str(video) in line and ("ffprobe" in line) == (content is not None)


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_is_one_line_and_exit_2(model_dir, tmp_path, capsys, query):
    # (a query of stop words only, "the of and", is predicted and flagged: tests/localization/test_predict.py)
    argv = ["predict", "--model", str(model_dir), "--video", str(tmp_path / "x.mp4"), "--query", query]
    assert main(argv) == 2
    assert _one_error_line(capsys) == (
        f"psvl predict: --query {query!r} is empty: give a sentence, e.g. 'person opens the door'"
    )


def test_video_classes_is_said_to_be_ignored_only_when_the_user_set_it(model_dir, tmp_path, caplog):
    argv = ["predict", "--model", str(model_dir), "--video", str(tmp_path / "x.mp4"), "--query", "q"]
    note = "predict.video_classes: this model has no named object channels; ignored"
    with caplog.at_level("INFO"):
        main(argv)  # the default (synthetic) preset sets video_classes: not the user's doing
    assert note not in caplog.text
    with caplog.at_level("INFO"):
        main([*argv, "--set", "predict.video_classes=true"])
    assert caplog.text.count(note) == 1


def test_predict_without_inputs_names_what_to_give(model_dir, capsys):
    assert main(["predict", "--model", str(model_dir)]) == 2
    assert "give --test-queries, --features and --out" in _one_error_line(capsys)


def test_verbose_adds_the_traceback_of_a_caught_error(tmp_path, capsys):
    argv = ["-v", "predict", "--model", str(tmp_path / "nope"), "--video", "x.mp4", "--query", "q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "FileNotFoundError" in err
    assert err.strip().splitlines()[-1].startswith("psvl predict: model ")


def test_other_commands_get_one_line_too(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.parquet")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"psvl inspect: {tmp_path / 'missing.parquet'}: no such file"]


def test_inspect_on_a_file_that_is_not_parquet_is_one_line(tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    assert main(["inspect", str(video)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"psvl inspect: {video}: not a Parquet file (")
    assert err[0].endswith("psvl inspect reads psvl's .parquet artifacts")


def test_inspect_on_a_folder_is_one_line_naming_a_file_inside(tmp_path, capsys):
    """`psvl inspect results/x/frames` (a folder of shards) used to print pyarrow's IsADirectoryError
    traceback; it is one line naming a file to give instead."""
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "00001.parquet").write_bytes(b"")
    (tmp_path / "frames" / "00000.parquet").write_bytes(b"")
    assert main(["inspect", str(tmp_path / "frames")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    folder = tmp_path / "frames"
    expected = f"psvl inspect: {folder}: is a folder; psvl inspect reads one .parquet file (it holds 2, e.g. {folder / '00000.parquet'})"
    assert err == [expected]
    assert main(["inspect", str(tmp_path)]) == 2  # no .parquet inside: no hint
    assert capsys.readouterr().err.strip().splitlines() == [
        f"psvl inspect: {tmp_path}: is a folder; psvl inspect reads one .parquet file"
    ]


def test_a_bug_keeps_its_traceback(monkeypatch):
    import psvl.commands.inspect as inspect_command

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(inspect_command, "run", broken)
    with pytest.raises(KeyError, match="a bug"):
        main(["inspect", "x.parquet"])
