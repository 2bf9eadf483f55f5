"""Only what reaches the output is the model: unused layers are warned about, not counted, not built."""

from __future__ import annotations

import textwrap

from netspec.pipeline import check_text


def checked(text: str):
    result = check_text(textwrap.dedent(text), "spec.yaml")
    assert result.errors == [], [d.message for d in result.errors]
    return result


def warnings(result) -> list[tuple[str, int, str]]:
    return [(d.code, d.span.line, d.message) for d in result.diagnostics if not d.is_error]


DANGLING = """\
    input: [784]
    layers:
      - dense: {units: 100, name: hidden}
      - dense: {units: 1000, from: input, name: dangling}
      - dense: {units: 10, from: hidden, name: logits}
    """


def test_a_dangling_layer_is_warned_about_and_not_counted():
    result = checked(DANGLING)
    assert warnings(result) == [("unused-layer", 4, "dense 'dangling' does not lead to the output 'logits', so it "
                                                    "is not part of the model: it is neither counted nor built")]
    assert result.analysis.total_params == 784 * 100 + 100 + 100 * 10 + 10
    assert "dangling" not in {node.name for node in result.graph.nodes}


def test_allow_acknowledges_an_unused_layer():
    result = checked(DANGLING.replace("name: dangling", "name: dangling, allow: unused-layer"))
    assert warnings(result) == []
    assert result.analysis.total_params == 79_510


def test_layers_after_the_named_output_are_unused_and_a_whole_block_is_one_warning():
    result = checked("""\
        input: [16]
        blocks:
          mlp:
            params: {units: 8}
            layers: [dense: "${units}", dense: "${units}"]
        layers:
          - dense: {units: 4, name: a}
          - mlp: {units: 32, name: head}
          - relu
        output: a
        """)
    assert [(code, line) for code, line, _ in warnings(result)] == [("unused-layer", 8), ("unused-layer", 9)]
    assert warnings(result)[0][2].startswith("template mlp 'head' (2 layers) does not lead to the output 'a'")
    assert [node.name for node in result.graph.nodes] == ["input", "a"]
    assert result.analysis.total_params == 16 * 4 + 4
    assert result.analysis.output.output_shape == (4,)


def test_allow_on_a_block_covers_its_layers():
    result = checked("""\
        input: [16]
        layers:
          - dense: {units: 4, name: a}
          - residual: {body: [dense: 4], allow: unused-layer}
        output: a
        """)
    assert warnings(result) == []


def test_output_may_name_an_inner_node():
    result = checked("""\
        input: [8, 8, 3]
        blocks:
          stage:
            params: {K: 8}
            layers:
              - conv: {K: "${K}", F: 3, P: same, name: features}
              - global_pool
              - dense: 10
        layers:
          - stage: {name: s1}
        output: s1/features
        """)
    assert result.graph.output == "s1/features"
    assert result.analysis.output.output_shape == (8, 8, 8)
    assert result.analysis.total_params == 3 * 3 * 3 * 8 + 8
    assert {code for code, _, _ in warnings(result)} == {"unused-layer"}
    assert [node.name for node in result.graph.nodes] == ["input", "s1/features"]


def test_a_partly_used_block_warns_about_its_unused_layers_one_by_one():
    result = checked("""\
        input: [16]
        blocks:
          two_heads:
            layers:
              - dense: {units: 4, name: kept}
              - dense: {units: 3, from: in, name: lost}
              - dense: {units: 2, from: kept, name: out}
        layers:
          - two_heads: {name: b}
        """)
    assert [message.split(" does")[0] for _, _, message in warnings(result)] == ["dense 'b/lost'"]
