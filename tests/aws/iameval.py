"""A small IAM policy evaluator for tests: what the templates' policies allow and deny.

moto checks IAM only coarsely (no Conditions, no resource ARNs for EC2, no iam:PassRole),
so tests resolve a template's policy documents here and evaluate requests against them.
It follows the IAM User Guide's rules for the elements and operators below and raises on
anything else (unknown intrinsic, operator or statement element), so a test can never
pass on something this module silently misread. Pure functions over data; no AWS calls.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from cfnlint.decode import cfn_yaml

from .test_templates import TEMPLATES

Decision = Literal["allow", "deny", "implicit-deny"]
Context = Mapping[str, str | Sequence[str]]
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NO_VALUE = object()  # what Ref AWS::NoValue resolves to: its element or key is dropped
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def load_template(name: str) -> dict[str, Any]:
    """The template, with short-form intrinsics (!Sub, !Ref ...) as their long dict forms."""
    return cfn_yaml.load(str(TEMPLATES / name))


def resolve(
    node: Any,
    params: Mapping[str, str | list[str]],
    conditions: Mapping[str, bool] = _EMPTY,
    attributes: Mapping[str, str] = _EMPTY,
) -> Any:
    """The node with every intrinsic function replaced by its value (None for AWS::NoValue).

    params holds parameters and pseudo parameters (AWS::Region, AWS::AccountId ...; only
    AWS::Partition has a default); attributes holds "Logical.Attr" values for GetAtt.
    Anything else raises KeyError: an unresolved value must never reach an assertion.
    """
    value = _resolve(node, params, conditions, attributes)
    return None if value is _NO_VALUE else value


def _resolve(node: Any, params: Mapping[str, Any], conds: Mapping[str, bool],
             attrs: Mapping[str, str]) -> Any:
    def again(child: Any) -> Any:
        return _resolve(child, params, conds, attrs)

    if isinstance(node, list):
        return [v for v in map(again, node) if v is not _NO_VALUE]
    if isinstance(node, str):
        return str(node)  # cfn-lint's string nodes carry positions; tests want plain str
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (name, arg), = node.items()
        if name == "Ref":
            return _NO_VALUE if arg == "AWS::NoValue" else _ref(arg, params)
        if name == "Fn::GetAtt":
            return attrs[arg if isinstance(arg, str) else ".".join(arg)]
        if name == "Fn::If":
            condition, if_true, if_false = arg
            return again(if_true if conds[condition] else if_false)
        if name == "Fn::Join":
            delimiter, items = arg
            return delimiter.join(_text(v) for v in again(items))
        if name == "Fn::Split":
            delimiter, text = arg
            return _text(again(text)).split(delimiter)
        if name == "Fn::Sub":
            return _sub(arg, params, attrs, again)
        if name.startswith("Fn::"):
            raise KeyError(f"intrinsic function {name} is not supported")
    resolved = {str(k): again(v) for k, v in node.items()}
    return {k: v for k, v in resolved.items() if v is not _NO_VALUE}


def _ref(name: str, params: Mapping[str, Any]) -> Any:
    return params.get(name, "aws") if name == "AWS::Partition" else params[name]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _sub(arg: Any, params: Mapping[str, Any], attrs: Mapping[str, str],
         again: Callable[[Any], Any]) -> str:
    template, variables = (arg, {}) if isinstance(arg, str) else arg
    values = {k: again(v) for k, v in variables.items()}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):  # ${!Literal} is CloudFormation's escape for "${Literal}"
            return "${" + name[1:] + "}"
        if name in values:
            return _text(values[name])
        if name in params or name == "AWS::Partition":
            return _text(_ref(name, params))
        return _text(attrs[name])  # ${Logical.Attr}; KeyError when unknown

    return _SUB_VARIABLE.sub(value, template)


def role_policies(
    template: Mapping[str, Any],
    logical_id: str,
    params: Mapping[str, str | list[str]],
    conditions: Mapping[str, bool] = _EMPTY,
    attributes: Mapping[str, str] = _EMPTY,
) -> list[dict[str, Any]]:
    """The resolved policy documents of an AWS::IAM::Role (inline) or ManagedPolicy."""
    resource = template["Resources"][logical_id]
    properties = resource["Properties"]
    if resource["Type"] == "AWS::IAM::Role":
        documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    elif resource["Type"] == "AWS::IAM::ManagedPolicy":
        documents = [properties["PolicyDocument"]]
    else:
        raise KeyError(f"{logical_id} is a {resource['Type']}, not a role or managed policy")
    return [resolve(d, params, conditions, attributes) for d in documents]


@dataclass(frozen=True)
class Request:
    """One authorisation question: may the principal do action on resource, in context."""

    action: str  # e.g. "iam:CreateRole"
    resource: str  # an ARN
    context: Context = field(default_factory=dict)  # condition keys; names case-insensitive


_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "NotAction", "Resource",
                   "NotResource", "Condition"}


def evaluate(documents: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """IAM's verdict over these documents: an explicit Deny wins, else any Allow allows."""
    context = {k.lower(): v for k, v in request.context.items()}
    allowed = False
    for document in documents:
        variables = document.get("Version") == "2012-10-17"  # older grammar has none
        statements = document["Statement"]
        for statement in [statements] if isinstance(statements, Mapping) else statements:
            if _applies(statement, request, context, variables):
                if statement["Effect"] == "Deny":
                    return "deny"
                allowed = True
    return "allow" if allowed else "implicit-deny"


def _applies(statement: Mapping[str, Any], request: Request, context: Context,
             variables: bool) -> bool:
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown or statement["Effect"] not in ("Allow", "Deny"):
        raise ValueError(f"statement elements not understood: {sorted(unknown) or statement}")
    if statement.get("Principal", "*") not in ("*", {"AWS": "*"}):
        raise ValueError("Principal matching is not modelled; pass only documents that apply")
    action = _either(statement, "Action", lambda p: _matches(
        p, request.action, context, variables=False, wild="string", ignore_case=True))
    resource = _either(statement, "Resource", lambda p: _matches(
        p, request.resource, context, variables, wild="arn", ignore_case=False))
    return action and resource and all(
        _operator_holds(op, block, context, variables)
        for op, block in statement.get("Condition", {}).items())


def _either(statement: Mapping[str, Any], name: str, match: Callable[[str], bool]) -> bool:
    """Element name (any pattern matches) or NotName (none does); exactly one is required."""
    if (name in statement) == (f"Not{name}" in statement):
        raise ValueError(f"a statement needs exactly one of {name} and Not{name}")
    hit = any(match(p) for p in _strings(statement.get(name, statement.get(f"Not{name}"))))
    return hit if name in statement else not hit


def _strings(value: Any) -> list[str]:
    """Policy values as IAM compares them: one or a list, booleans as "true"/"false"."""
    def one(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str | int | float):
            return str(v)
        raise TypeError(f"not a policy value: {v!r}")
    return [one(v) for v in value] if isinstance(value, list) else [one(value)]


_TOKEN = re.compile(r"\$\{([^}]*)\}|\*|\?|.", re.DOTALL)
_DEFAULT = re.compile(r"(.*?)\s*,\s*'(.*)'")  # ${key, 'default value'}


def _matches(pattern: str, value: str, context: Context, variables: bool,
             wild: Literal["none", "string", "arn"], ignore_case: bool) -> bool:
    """Does value match pattern? Variables are substituted (as literal text) first.

    "arn" wildcards stay within one of the first five colon-separated ARN segments (the
    IAM guide: a wildcard cannot span segments; the sixth, the resource, may hold colons).
    A variable absent from the context makes the pattern match nothing, as in IAM.
    """
    if wild == "arn" and pattern == "*":
        return True
    parts: list[str] = []
    colons = 0
    tokens = (m.group(0, 1) for m in _TOKEN.finditer(pattern)) if variables else (
        (c, None) for c in pattern)
    for text, name in tokens:
        if name is not None:
            literal = _variable(name, context)
            if literal is None:
                return False
            parts.append(re.escape(literal))
        elif text in "*?" and wild != "none":
            within = "[^:]" if wild == "arn" and colons < 5 else "."
            parts.append(within + "*" if text == "*" else within)
        else:
            colons += text == ":"
            parts.append(re.escape(text))
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch("".join(parts), value, flags) is not None


def _variable(name: str, context: Context) -> str | None:
    if name in ("*", "?", "$"):  # IAM's escapes for a literal *, ? and $
        return name
    key, default = name, None
    if found := _DEFAULT.fullmatch(name):
        key, default = found.group(1), found.group(2)
    value = context.get(key.strip().lower())
    if value is not None and not isinstance(value, str):
        raise ValueError(f"multivalued key {key} cannot be a policy variable")
    return default if value is None else value


# A test of one request value against one policy value; negation is applied per operator.
_Test = Callable[[str, str, Context, bool], bool]


def _glob(wild: Literal["none", "string", "arn"], ignore_case: bool = False) -> _Test:
    return lambda p, v, ctx, var: _matches(p, v, ctx, var, wild, ignore_case)


def _numeric(compare: Callable[[float, float], bool]) -> _Test:
    return lambda p, v, _ctx, _var: compare(float(v), float(p))


_OPERATORS: dict[str, tuple[_Test, bool]] = {  # name: (test, negated)
    "StringEquals": (_glob("none"), False),
    "StringNotEquals": (_glob("none"), True),
    "StringEqualsIgnoreCase": (_glob("none", ignore_case=True), False),
    "StringNotEqualsIgnoreCase": (_glob("none", ignore_case=True), True),
    "StringLike": (_glob("string"), False),
    "StringNotLike": (_glob("string"), True),
    "ArnEquals": (_glob("arn"), False),  # the guide: ArnEquals and ArnLike are the same
    "ArnLike": (_glob("arn"), False),
    "ArnNotEquals": (_glob("arn"), True),
    "ArnNotLike": (_glob("arn"), True),
    "Bool": (lambda p, v, _ctx, _var: p.lower() == v.lower(), False),
    "NumericEquals": (_numeric(operator.eq), False),
    "NumericNotEquals": (_numeric(operator.eq), True),
    "NumericLessThan": (_numeric(operator.lt), False),
    "NumericLessThanEquals": (_numeric(operator.le), False),
    "NumericGreaterThan": (_numeric(operator.gt), False),
    "NumericGreaterThanEquals": (_numeric(operator.ge), False),
}


def _operator_holds(name: str, block: Mapping[str, Any], context: Context,
                    variables: bool) -> bool:
    """One operator block: every key in it must hold (AND)."""
    set_op, _, base = name.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    known = base not in _OPERATORS if base != "Null" else set_op or if_exists
    if known or set_op not in ("", "ForAllValues", "ForAnyValue"):
        raise KeyError(f"condition operator {name} is not supported")
    return all(
        _key_holds(base, set_op, if_exists, _strings(values), context.get(key.lower()),
                   context, variables)
        for key, values in block.items())


def _key_holds(base: str, set_op: str, if_exists: bool, policy: list[str],
               raw: str | Sequence[str] | None, context: Context, variables: bool) -> bool:
    if base == "Null":  # "true": the key is absent (or an empty set); "false": present
        absent = raw is None or (not isinstance(raw, str) and len(raw) == 0)
        return any(absent == (p.lower() == "true") for p in policy)
    test, negated = _OPERATORS[base]
    if raw is None:
        # IfExists and ForAllValues hold on an absent key, ForAnyValue does not; a plain
        # operator does not match, so a negated one ("the key is not X") holds.
        return if_exists or set_op == "ForAllValues" or (not set_op and negated)

    def one(value: str) -> bool:  # several policy values: OR, or NOR when negated
        return any(test(p, value, context, variables) for p in policy) != negated

    if not set_op:
        if not isinstance(raw, str):
            raise ValueError(f"a multivalued key needs ForAllValues/ForAnyValue: {raw!r}")
        return one(raw)
    values = [raw] if isinstance(raw, str) else list(raw)
    return all(map(one, values)) if set_op == "ForAllValues" else any(map(one, values))
