"""Commands on loan applications: create, submit, appraise, approve / reject (four eyes), withdraw,
expire, and the hand-over to servicing at disbursement.

Lock order, everywhere: the Member row first, then the application. Two approvals of one member
therefore run one after the other, and the second sees the first's promise when it checks the cap.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from borrowers.models import Member
from loanfund.errors import DomainError, InvalidState
from loanfund.models import ApplicationEvent, Appraisal, Fund, LoanApplication, LoanProduct
from loanfund.origination.appraisal import Check, eligibility_checks, run_checks
from loanfund.origination.products import approver_limit_as_of
from loanfund.selectors.fund import fund_settings_as_of

Status = LoanApplication.Status
FOUR_EYES = "four_eyes_violation"


def _today() -> date:
    return timezone.localdate()


def _refuse(check: Check, checks: list[Check]) -> DomainError:
    """A failed check as the API error: its code, its field, and every check's figures."""
    return DomainError(check.code, check.detail, attr=check.attr, status=400, extra={"checks": [c.as_dict() for c in checks]})


def _transition(application: LoanApplication, to_status: str, *, actor, reason: str = "", allowed_from) -> LoanApplication:
    if application.status not in allowed_from:
        raise InvalidState(f"An application that is {application.status} cannot become {to_status}.", attr="status")
    from_status = application.status
    application.status = to_status
    application.save()
    ApplicationEvent.objects.create(application=application, from_status=from_status, to_status=to_status, actor=actor,
                                    at=timezone.now(), reason=reason)
    return application


def _lock(application: LoanApplication) -> tuple[Member, LoanApplication]:
    member = Member.objects.select_for_update().get(pk=application.member_id)
    application = LoanApplication.objects.select_for_update(of=("self",)).select_related("fund", "product_version").get(pk=application.pk)
    return member, application


def _not_own_loan(*, member: Member, user, doing: str) -> None:
    if member.user_id is not None and member.user_id == user.pk:
        raise DomainError(FOUR_EYES, f"Staff cannot {doing} their own loan application.", attr="member", status=403)


@transaction.atomic
def application_create(*, fund: Fund, member: Member, product: LoanProduct, amount: Decimal, installments: int, purpose: str = "",
                       first_due_on: date | None = None, created_by) -> LoanApplication:
    """A draft priced on the product's current version (a later product edit never changes it)."""
    if member.fund_id != fund.pk or product.fund_id != fund.pk:
        raise DomainError("does_not_exist", "No such member or product in this fund.", attr="member", status=400)
    if not product.is_active:
        raise DomainError("product_inactive", "This product no longer takes applications.", attr="product", status=400)
    member = Member.objects.select_for_update().get(pk=member.pk)
    version = product.current_version
    today = _today()
    if first_due_on is not None and first_due_on <= today:
        raise DomainError("invalid_date", "The first due date must be in the future.", attr="first_due_on", status=400)
    checks = eligibility_checks(member=member, terms=version, amount=amount, installments=installments, on=today)
    failed = [c for c in checks if not c.passed]
    if failed:
        raise _refuse(failed[0], checks)
    application = LoanApplication.objects.create(fund=fund, member=member, product_version=version, amount=amount,
                                                 installments=installments, purpose=purpose, first_due_on=first_due_on,
                                                 created_by=created_by)
    ApplicationEvent.objects.create(application=application, from_status="", to_status=Status.DRAFT, actor=created_by, at=timezone.now())
    return application


@transaction.atomic
def application_submit(*, application: LoanApplication, submitted_by) -> LoanApplication:
    _, application = _lock(application)
    return _transition(application, Status.SUBMITTED, actor=submitted_by, allowed_from=(Status.DRAFT,))


@transaction.atomic
def application_appraise(*, application: LoanApplication, appraised_by, endorsed_by: str, endorsed_on: date, recommendation: str,
                         notes: str = "") -> LoanApplication:
    """Runs every check; any failure refuses the appraisal (400 with the check's code and every
    check's figures) and writes nothing. A passing appraisal is recorded with its figures."""
    member, application = _lock(application)
    if application.status != Status.SUBMITTED:
        raise InvalidState(f"Only a submitted application is appraised (this one is {application.status}).", attr="status")
    _not_own_loan(member=member, user=appraised_by, doing="appraise")
    today = _today()
    result = run_checks(application=application, member=member, on=today)
    endorsed = bool(endorsed_by.strip()) and endorsed_on <= today
    result.checks.append(Check("union_endorsement", endorsed, "endorsement_required", "endorsed_by",
                               "The grassroots union recommended the member (who, on what date).",
                               {"endorsed_by": endorsed_by, "endorsed_on": endorsed_on.isoformat()}))
    if result.failures:
        raise _refuse(result.failures[0], result.checks)
    Appraisal.objects.create(
        application=application, appraised_by=appraised_by, appraised_at=timezone.now(), as_of=today,
        checks=[c.as_dict() for c in result.checks], passed=True, largest_installment=result.largest_installment,
        exposure_after=result.exposure_after, endorsed_by=endorsed_by.strip(), endorsed_on=endorsed_on,
        recommendation=recommendation, notes=notes,
    )
    return _transition(application, Status.APPRAISED, actor=appraised_by, reason=f"Recommendation: {recommendation}. {notes}".strip(),
                       allowed_from=(Status.SUBMITTED,))


def _four_eyes(*, application: LoanApplication, member: Member, decided_by, doing: str) -> None:
    appraisal = getattr(application, "appraisal", None)
    if appraisal is not None and appraisal.appraised_by_id == decided_by.pk:
        raise DomainError(FOUR_EYES, f"The person who appraised an application cannot {doing} it.", attr="approved_by", status=403)
    _not_own_loan(member=member, user=decided_by, doing=doing)


@transaction.atomic
def application_approve(*, application: LoanApplication, approved_by, reason: str = "") -> LoanApplication:
    """Four eyes, the approver's limit, then every check again with the member locked: two
    approvals of one member can never together exceed the cap. A failed check blocks approval."""
    member, application = _lock(application)
    if application.status != Status.APPRAISED:
        raise InvalidState(f"Only an appraised application is approved (this one is {application.status}).", attr="status")
    _four_eyes(application=application, member=member, decided_by=approved_by, doing="approve")
    today = _today()
    limit = approver_limit_as_of(fund=application.fund, user=approved_by, on=today)
    amount = application.amount.amount
    if limit is not None and amount > limit:
        raise DomainError(FOUR_EYES, f"The amount is above your approval limit ({limit:f} đồng): a higher approver decides.",
                          attr="amount", status=403, extra={"limit": format(limit, "f")})
    result = run_checks(application=application, member=member, on=today)
    if result.failures:
        raise _refuse(result.failures[0], result.checks)
    validity = fund_settings_as_of(fund=application.fund, on=today).application_validity_days
    application.approved_until = today + timedelta(days=validity)
    return _transition(application, Status.APPROVED, actor=approved_by, reason=reason, allowed_from=(Status.APPRAISED,))


@transaction.atomic
def application_reject(*, application: LoanApplication, rejected_by, reason: str) -> LoanApplication:
    member, application = _lock(application)
    if application.status not in (Status.SUBMITTED, Status.APPRAISED):
        raise InvalidState(f"Only a submitted or appraised application is rejected (this one is {application.status}).", attr="status")
    _four_eyes(application=application, member=member, decided_by=rejected_by, doing="reject")
    return _transition(application, Status.REJECTED, actor=rejected_by, reason=reason, allowed_from=(Status.SUBMITTED, Status.APPRAISED))


@transaction.atomic
def application_withdraw(*, application: LoanApplication, withdrawn_by, reason: str) -> LoanApplication:
    _, application = _lock(application)
    return _transition(application, Status.WITHDRAWN, actor=withdrawn_by, reason=reason, allowed_from=LoanApplication.OPEN_STATUSES)


def application_mark_disbursed(*, application: LoanApplication, disbursed_by) -> LoanApplication:
    """Servicing's hand-over (the caller holds the application row locked in its transaction):
    approved and still valid -> disbursed, with its event; anything else is invalid_state."""
    if application.status == Status.APPROVED and application.approved_until is not None and application.approved_until < _today():
        raise InvalidState(f"The approval expired on {application.approved_until:%Y-%m-%d}: appraise and approve again.",
                           attr="approved_until")
    return _transition(application, Status.DISBURSED, actor=disbursed_by, reason="Disbursed.", allowed_from=(Status.APPROVED,))


@transaction.atomic
def applications_expire(*, as_of: date, fund: Fund | None = None) -> int:
    """Approved applications past approved_until become expired: one UPDATE plus one INSERT of
    their events, whatever their number. Idempotent per as_of."""
    expiring = LoanApplication.objects.select_for_update().filter(status=Status.APPROVED, approved_until__lt=as_of)
    if fund is not None:
        expiring = expiring.filter(fund=fund)
    ids = list(expiring.values_list("pk", flat=True))
    if not ids:
        return 0
    LoanApplication.objects.filter(pk__in=ids).update(status=Status.EXPIRED, updated_at=timezone.now())
    now = timezone.now()
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(application_id=pk, from_status=Status.APPROVED, to_status=Status.EXPIRED, actor=None, at=now,
                         reason=f"Approval validity ended before {as_of:%Y-%m-%d}.") for pk in ids)
    return len(ids)
