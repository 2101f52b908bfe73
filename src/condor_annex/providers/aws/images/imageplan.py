"""What `annex image build` is asked for, checked before anything is made.

`plan_build` turns a request into a plan or a one-line UsageError: the role, the extras
(the install scripts' own list), the image name (EC2's rule, and not taken), the region's
setup, and the base image (it exists, is Linux, and is x86_64 or arm64, which picks the
builder's instance type). It only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from condor_annex.durations import format_duration
from condor_annex.errors import UsageError
from condor_annex.providers.aws.account.setuprecord import SetupRecord, find_setup, setup_fix
from condor_annex.providers.aws.annexes.prices import price_table
from condor_annex.providers.aws.images import amis
from condor_annex.providers.aws.images.imagescript import ROLE_SCRIPTS, known_extras

ROLES = tuple(ROLE_SCRIPTS)
DEFAULT_TIMEOUT = 1800.0
BUILDER_TYPES = {"x86_64": "m7i.large", "arm64": "m7g.large"}


@dataclass(frozen=True)
class ImageRequest:
    role: str
    base_image: str
    name: str = ""
    extras: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT

    def checked(self, now: datetime | None = None) -> ImageRequest:
        """The request with its default name, or a UsageError naming the bad part."""
        if self.role not in ROLES:
            raise UsageError(f"role {self.role!r} is not one of: {', '.join(ROLES)}")
        known = known_extras()
        for extra in self.extras:
            if extra not in known:
                raise UsageError(f"extra {extra!r} is not one of: {', '.join(known)}")
        if not self.timeout > 0:
            raise UsageError("--timeout must be above zero")
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        name = self.name or f"condor-annex-{self.role}-{stamp}"
        return replace(
            self,
            name=amis.check_image_name(name),
            extras=tuple(dict.fromkeys(self.extras)),
        )


@dataclass(frozen=True)
class BuildPlan:
    """A checked request and what it will use; nothing exists yet."""

    request: ImageRequest
    setup: SetupRecord
    base: dict[str, Any]
    instance_type: str

    def describe(self) -> str:
        req = self.request
        extras = f" with {', '.join(req.extras)}" if req.extras else ""
        text = (
            f"Will launch one {self.instance_type} on-demand builder in {self.setup.region} "
            f"from {req.base_image} ({self.base.get('Name', 'unnamed')}) for up to "
            f"{format_duration(req.timeout)} to bake a {req.role} image{extras} named "
            f"{req.name!r}."
        )
        price = price_table().prices.get(self.instance_type)
        if price:
            text += f" At most about ${price * req.timeout / 3600:.2f} at on-demand list prices."
        return text


def plan_build(session: Any, request: ImageRequest) -> BuildPlan:
    """Every check before anything is made: input, setup, base image, name."""
    request = request.checked()
    try:
        setup = find_setup(session)
        ec2 = session.client("ec2")
        base = amis.describe_base_image(ec2, request.base_image)
        taken = amis.name_taken(ec2, request.name)
    except (ClientError, BotoCoreError) as err:
        raise UsageError(
            f"cannot reach AWS in {session.region_name} ({err}); check credentials and region"
        ) from None
    if taken:
        raise UsageError(f"an image named {request.name!r} already exists; pick another --name")
    if not setup.builder_security_group_id:  # a setup from before builders had their own
        raise UsageError(
            f"the setup in {setup.region} has no image-builder security group; "
            f"{setup_fix(setup.region)} again"
        )
    arch = base.get("Architecture", "x86_64")
    if arch not in BUILDER_TYPES:
        raise UsageError(f"image {request.base_image} is {arch}; only x86_64 and arm64 work")
    return BuildPlan(request, setup, base, BUILDER_TYPES[arch])
