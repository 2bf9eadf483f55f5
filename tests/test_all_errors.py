"""Every independent shape error in one run; errors that follow from an earlier one are not reported."""

from __future__ import annotations

import textwrap

from netspec.pipeline import check_text


def errors(text: str) -> list[tuple[int, str]]:
    result = check_text(textwrap.dedent(text), "spec.yaml")
    return [(d.span.line, d.message) for d in result.errors]


def test_one_error_per_instance_of_a_broken_template():
    """A gate whose width cannot broadcast against the features fails in every block: all of them are reported."""
    found = errors("""\
        input: [16, 16, 8]
        blocks:
          se:
            params: {K: 8}
            layers:
              - conv: {K: "${K}", F: 1, name: x}
              - global_pool
              - dense: 3
              - multiply: {from: [x, dense_1]}
        layers:
          - se: {K: 8}
          - conv: {K: 8, F: 3, P: same}
          - se: {K: 16}
          - se: {K: 4}
          - flatten
        """)
    assert found == [
        (9, "multiply 'se_1/multiply_1' needs inputs that broadcast, but 'se_1/x' gives (16, 16, 8) and "
            "'se_1/dense_1' gives (3,)"),
        (9, "multiply 'se_2/multiply_1' needs inputs that broadcast, but 'se_2/x' gives (16, 16, 16) and "
            "'se_2/dense_1' gives (3,)"),
        (9, "multiply 'se_3/multiply_1' needs inputs that broadcast, but 'se_3/x' gives (16, 16, 4) and "
            "'se_3/dense_1' gives (3,)"),
    ]


def test_independent_errors_in_sequence_are_all_reported():
    found = errors("""\
        input: [32, 32, 3]
        layers:
          - conv: {K: 8, F: 40}
          - pool: {F: 2}
          - conv: {K: 8, F: 3, groups: 3}
          - pool: {F: 2}
          - flatten
          - dense: 10
        """)
    assert [line for line, _ in found] == [3, 5]
    assert found[0][1] == "conv 'conv2d_1' needs F=40 but its input is only 32×32 (P=0)"
    assert found[1][1] == "conv 'conv2d_2' has groups=3, which must divide its 8 input channels"


def test_a_guessed_shape_does_not_cascade_into_follow_on_errors():
    """The add after a failed conv cannot agree with it, but that is the conv's fault: one error."""
    found = errors("""\
        input: [32, 32, 3]
        layers:
          - conv: {K: 8, F: 3, name: a}
          - conv: {K: 8, F: 40, name: broken}
          - conv: {K: 8, F: 5, from: a, name: other}
          - add: {from: [broken, other]}
          - conv: {K: 8, F: 50, from: other, name: also_broken}
          - concat: {from: [add_1, also_broken]}
        """)
    assert [line for line, _ in found] == [4, 7]
    assert all("'add_1'" not in message and "concat" not in message for _, message in found)


def test_without_a_sensible_guess_the_successors_are_skipped():
    found = errors("""\
        input: [8, 8, 3]
        layers:
          - conv: {K: 4, F: 3, name: a}
          - flatten
          - concat: {from: [a, flatten_1]}
          - conv: {K: 4, F: 9}
        """)
    assert len(found) == 1 and found[0][0] == 5
