"""The domain's closed sets become GraphQL enums under their own names (ErrorCode under the
contract's UserErrorCode). strawberry.enum marks the classes in place, so the GraphQL types
annotate with the domain enums themselves."""

from enum import Enum

import strawberry

from app import enums as domain
from app.services.errors import ErrorCode

for _value in vars(domain).values():
    if (
        isinstance(_value, type)
        and issubclass(_value, Enum)
        and _value.__module__ == domain.__name__
    ):
        strawberry.enum(_value)
strawberry.enum(ErrorCode, name="UserErrorCode")
