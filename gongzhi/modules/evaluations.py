"""Evaluations (评比): monthly ratings of property firms and owner committees, rankings per period."""

from gongzhi.modules.declaration import Module
from models import EvaluationItem, EvaluationPeriod, EvaluationPeriodItem, EvaluationRating
from schema import evaluations
from tenants.provisioning import evaluations_defaults

MODULE = Module(
    name="evaluations",
    tables=(EvaluationItem, EvaluationPeriod, EvaluationRating, EvaluationPeriodItem),
    resources=("evaluation",),
    schema=evaluations.PARTS,
    defaults=evaluations_defaults,
)
