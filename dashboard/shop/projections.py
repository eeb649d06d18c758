"""The `order_views` projection: one row per order in OrderView, kept by the projection worker."""

from decimal import Decimal

from django.db.models import F

from dashboard.eventsourcing.aggregate import on
from dashboard.eventsourcing.projections import Projection, projection
from dashboard.models import Event
from dashboard.models.shop import OrderView, SkuSales


@projection
class OrderViews(Projection):
    name = "order_views"
    read_model = OrderView
    aggregate_type = "Order"
    row_key = "order_id"

    @on("OrderCreated")
    def created(self, event: Event) -> None:
        detail = event.detail
        self.add(
            order_id=event.aggregate_id,
            customer=detail["customer"],
            items=detail["items"],
            total=Decimal(str(detail["total"])),
            status=OrderView.Status.CREATED,
            created_at=event.time,
            version=1,
        )

    @on("OrderShipped")
    def shipped(self, event: Event) -> None:
        self._change(event, status=OrderView.Status.SHIPPED, shipped_at=event.time)

    @on("OrderCancelled")
    def cancelled(self, event: Event) -> None:
        self._change(event, status=OrderView.Status.CANCELLED, cancelled_at=event.time)

    def _change(self, event: Event, **fields) -> None:
        view = self.row(event.aggregate_id)
        for name, value in fields.items():
            setattr(view, name, value)
        # The version counts applied events, so an event applied twice would show (tests rely on it).
        view.version += 1
        self.changed(view)


@projection
class SkuSalesView(Projection):
    name = "sku_sales"
    read_model = SkuSales
    aggregate_type = "Order"

    @on("OrderCreated")
    def created(self, event: Event) -> None:
        for line in event.detail["items"]:
            row, _ = self.rows().get_or_create(sku=line["sku"], defaults={"generation": self.generation})
            self.rows().filter(pk=row.pk).update(quantity=F("quantity") + line["quantity"], orders=F("orders") + 1)
