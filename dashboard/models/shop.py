"""Read model of the demo shop, written by the `order_views` projection (dashboard/shop/projections.py)."""

from django.db import models

from .streams import ReadModel


class OrderView(ReadModel):
    """One order as the shop's pages show it: a query-side copy folded from the Order stream."""

    projection_name = "order_views"

    class Status(models.TextChoices):
        CREATED = "created"
        SHIPPED = "shipped"
        CANCELLED = "cancelled"

    order_id = models.CharField(max_length=256)
    customer = models.CharField(max_length=256)
    items = models.JSONField(default=list)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    created_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveBigIntegerField(default=0, help_text="Events applied; equals the stream version.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["generation", "order_id"], name="orderview_unique_per_gen")]
        indexes = [models.Index(fields=["generation", "-created_at"], name="orderview_gen_newest")]

    def __str__(self) -> str:
        return f"order {self.order_id} ({self.status})"


class SkuSales(ReadModel):
    """Units ordered per SKU, written by the `sku_sales` projection (a second view of the same stream)."""

    projection_name = "sku_sales"

    sku = models.CharField(max_length=64)
    quantity = models.PositiveBigIntegerField(default=0)
    orders = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-quantity"]
        verbose_name_plural = "SKU sales"
        constraints = [models.UniqueConstraint(fields=["generation", "sku"], name="skusales_unique_per_gen")]

    def __str__(self) -> str:
        return f"{self.sku}: {self.quantity}"
