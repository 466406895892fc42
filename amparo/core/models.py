"""Geography, agencies, users and roles, encryption keys and the audit log."""

from __future__ import annotations

import uuid
from functools import cached_property

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.core.roles import Role


class Province(models.Model):
    """One of Mozambique's 11 provinces (Maputo City counts as one). `code` is the OCHA/INE P-code."""

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    name = models.CharField(_("name"), max_length=80)
    iso_3166_2 = models.CharField(_("ISO 3166-2 code"), max_length=8, unique=True)
    capital = models.CharField(_("provincial capital"), max_length=80, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("province")
        verbose_name_plural = _("provinces")

    def __str__(self) -> str:
        return self.name


class District(models.Model):
    """A district, P-code `MZppdd`. `is_capital` marks the district that holds the provincial capital."""

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    name = models.CharField(_("name"), max_length=80)
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="districts", verbose_name=_("province")
    )
    is_capital = models.BooleanField(_("provincial capital"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


class ScopeLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    PROVINCE = "province", _("Province")
    DISTRICT = "district", _("District")


class AgencyKind(models.TextChoices):
    POLICE = "police", _("Police")
    CRIMINAL_INVESTIGATION = "criminal_investigation", _("Criminal investigation")
    PROSECUTION = "prosecution", _("Prosecution")
    COURT = "court", _("Court")
    SOCIAL_WELFARE = "social_welfare", _("Social welfare")
    HEALTH = "health", _("Health")
    EDUCATION = "education", _("Education")
    HELPLINE = "helpline", _("Helpline")
    HUMAN_RIGHTS = "human_rights", _("Human rights")
    REGULATOR = "regulator", _("Regulator")
    NGO = "ngo", _("Non-governmental organisation")
    INDUSTRY = "industry", _("Industry")
    INTERNATIONAL = "international", _("International")
    GOVERNMENT = "government", _("Government ministry")


class Agency(models.Model):
    """A body that works on cases or uses the platform. `code` is a stable identifier."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=40)
    kind = models.CharField(_("kind"), max_length=32, choices=AgencyKind.choices)
    scope_level = models.CharField(
        _("geographic scope"), max_length=16, choices=ScopeLevel.choices, default=ScopeLevel.NATIONAL
    )
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("province")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("district")
    )
    is_demo = models.BooleanField(_("demo entry"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["short_name"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        constraints = [
            models.CheckConstraint(
                name="agency_scope_consistent",
                condition=(
                    models.Q(scope_level="national", province__isnull=True, district__isnull=True)
                    | models.Q(scope_level="province", province__isnull=False, district__isnull=True)
                    | models.Q(scope_level="district", province__isnull=False, district__isnull=False)
                ),
            )
        ]

    def __str__(self) -> str:
        return self.short_name


class AmparoUserManager(UserManager):
    pass


class User(AbstractUser):
    """A staff user. Belongs to one agency; holds roles (RoleGrant); may be narrowed to a province or district."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="users", verbose_name=_("agency")
    )
    scope_level = models.CharField(
        _("geographic scope"),
        max_length=16,
        choices=ScopeLevel.choices,
        blank=True,
        help_text=_("Leave empty to use the agency's scope."),
    )
    scope_province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("province"),
    )
    scope_district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("district"),
    )
    is_demo = models.BooleanField(
        _("demo user"),
        default=False,
        help_text=_("Demo users may skip two-factor sign-in, in demo mode only."),
    )

    REQUIRED_FIELDS = ["email", "agency"]
    objects = AmparoUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(self.role_grants.values_list("role", flat=True))

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def effective_scope(self) -> tuple[str, str | None, str | None]:
        """(level, province code, district code) that this user's case access is limited to.

        A user's own scope can only narrow the agency's: a narrower scope inside the agency's
        area applies; anything wider, or outside that area, falls back to the agency's scope.
        """
        agency = self.agency
        agency_scope = (agency.scope_level, agency.province_id, agency.district_id)
        own = (self.scope_level, self.scope_province_id, self.scope_district_id)
        if not self.scope_level or agency.scope_level == ScopeLevel.DISTRICT:
            return agency_scope
        if agency.scope_level == ScopeLevel.NATIONAL:
            return own
        # A provincial agency: its users may be narrowed to one of its districts.
        if self.scope_level == ScopeLevel.DISTRICT and self.scope_province_id == agency.province_id:
            return own
        return agency_scope

    def clean(self) -> None:
        super().clean()
        level, province, district = self.scope_level, self.scope_province_id, self.scope_district_id
        valid = (
            (not level and province is None and district is None)
            or (level == ScopeLevel.NATIONAL and province is None and district is None)
            or (level == ScopeLevel.PROVINCE and province is not None and district is None)
            or (level == ScopeLevel.DISTRICT and province is not None and district is not None)
        )
        if not valid:
            raise ValidationError(
                _(
                    "A province scope needs a province and no district; a district scope needs a province and a district; a national scope needs neither. Correct the scope and save again."
                )
            )
        if district is not None and self.scope_district.province_id != province:
            raise ValidationError(_("The district is not in the chosen province."))


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_role_per_user")]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.get_role_display()


class DutyRequest(models.Model):
    """A change to a user that one system administrator asks for and another must approve (separation of
    duties, docs/security.md): granting a role that reads cases (or the system administrator role),
    resetting a second factor, setting another user's password."""

    class Kind(models.TextChoices):
        GRANT_ROLE = "grant_role", _("Grant a role")
        RESET_TOTP = "reset_totp", _("Reset two-factor sign-in")
        SET_PASSWORD = "set_password", _("Set the password")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("change"), max_length=16, choices=Kind.choices)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, blank=True)
    # For SET_PASSWORD: the new password's hash (never the password), applied on approval.
    password = models.CharField(max_length=128, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("change waiting for approval")
        verbose_name_plural = _("changes waiting for approval")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


class DataKey(models.Model):
    """A data key, stored only wrapped (AES-GCM) by the master key named by `master_key_id`."""

    class Purpose(models.TextChoices):
        FIELD = "field", "field encryption"
        INDEX = "index", "blind index"
        # The deployment-wide salt of receipt hashes: created once, never rotated (that would void
        # every receipt), re-wrapped like every data key when the master key changes.
        RECEIPT = "receipt", "receipt salt"
        # The key of the audit chain's MACs (docs/security.md): created once, never rotated (every
        # entry's MAC depends on it), re-wrapped like every data key when the master key changes.
        AUDIT = "audit", "audit chain key"

    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    wrapped = models.BinaryField()
    master_key_id = models.CharField(max_length=16)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"], condition=models.Q(active=True), name="one_active_key_per_purpose"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key {self.pk}"


class AuditEntry(models.Model):
    """One append-only entry of the tamper-evident audit log (see amparo.core.audit)."""

    id = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    chain = models.CharField(max_length=64, default="national", db_index=True)
    at = models.DateTimeField(db_index=True)
    actor_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency = models.CharField(max_length=40, blank=True)
    actor_channel = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    fields = models.JSONField(default=list)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # HMAC-SHA256 of the chain and `hash` under the installation's audit key (empty only for entries
    # written before the chain was keyed, up to the head's `legacy_until`).
    mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"


class AuditHead(models.Model):
    """The last entry of each audit chain: appends lock it, and verification compares against it,
    so that removing the newest entries is detected too."""

    chain = models.CharField(max_length=64, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)
    # Entries up to this id were written before the chain was keyed: they carry no MAC, and the
    # head's MAC (which covers this number) vouches for them.
    legacy_until = models.BigIntegerField(default=0)
    # HMAC-SHA256 of every field above under the installation's audit key.
    mac = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"audit head {self.chain}"


class ApiToken(models.Model):
    """A bearer token for a service account (or a person's script) calling a staff API.

    Only the SHA-256 of the token is stored (tokens are 256-bit random, so a fast hash is safe); the
    first characters (`prefix`) are kept in clear to find the row and to name the token in lists.
    The token acts as its user: the same roles, scope and access policy apply.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"token {self.prefix}…"


class Notification(models.Model):
    """An in-app notice to one user (also e-mailed). It holds a kind, a link and the case reference,
    never personal data; its text is rendered in the reader's language when shown."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=48)
    reference = models.CharField(max_length=32, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Deduplication: one notice per (recipient, key), e.g. one overdue notice per case and deadline.
    dedup_key = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedup_key"],
                condition=~models.Q(dedup_key=""),
                name="unique_notification_dedup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class PeriodicJobState(models.Model):
    """When a periodic job (amparo.core.schedule) is next due, whether a run is under way, and how its
    last run went: one row per registered job, shared by every worker. No personal data."""

    name = models.CharField(max_length=100, primary_key=True)
    next_due_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_ok = models.BooleanField(null=True)
    last_count = models.BigIntegerField(null=True, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"periodic job {self.name}"


class WorkerHeartbeat(models.Model):
    """A running task worker (`amparo worker`): the queues it serves and when it last said it was alive.
    `/healthz` reads these per queue, and a task left RUNNING by a worker whose heartbeat stopped is taken
    back (amparo.core.taskqueue). No personal data: a random id, queue names, a process id, times."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    queues = models.CharField(max_length=200, help_text="Comma-separated queue names; '*' for all.")
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"worker {self.worker_id} ({self.queues})"

    def serves(self, queue: str) -> bool:
        names = self.queues.split(",")
        return "*" in names or queue in names
