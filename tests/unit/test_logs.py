"""The log router: every line to the file, whole lines with their levels to the view, debug apart."""

from mixtral_tui.engine.base import LOG_DEBUG, LOG_INFO, LOG_WARN
from mixtral_tui.engine.log_router import LogRouter


def test_fragments_make_whole_lines_with_the_level_of_their_first_piece(tmp_path):
    router = LogRouter(tmp_path / "llama.log")
    router.write("load_tensors: loading", LOG_INFO)
    router.write(" ... done\nnext", LOG_DEBUG)  # a continuation: the line keeps its level
    router.write(" line\n", LOG_DEBUG)
    router.write("careful\n", LOG_WARN)
    assert router.entries(debug=True) == [
        (0, LOG_INFO, "load_tensors: loading ... done"), (1, LOG_DEBUG, "next line"), (2, LOG_WARN, "careful"),
    ]
    assert router.entries() == [(0, LOG_INFO, "load_tensors: loading ... done"), (2, LOG_WARN, "careful")]
    assert router.entries(after=0) == [(2, LOG_WARN, "careful")]
    assert (tmp_path / "llama.log").read_text().splitlines()[-3:] == ["load_tensors: loading ... done", "next line", "careful"]


def test_debug_lines_do_not_push_out_the_ones_that_matter(tmp_path):
    router = LogRouter(None, keep=100)
    router.write("llama_model_loader: the model\n", LOG_INFO)
    for token in range(1_200):  # what loading Gemma 3 270M writes at debug level
        router.write(f"load: control token: {token} is not marked as EOG\n", LOG_DEBUG)
    assert [line for _, _, line in router.entries()] == ["llama_model_loader: the model"]
    assert router.debug_total == 1_200 and len(router.entries(debug=True)) == 101
