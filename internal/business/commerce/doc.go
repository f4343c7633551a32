// Package commerce is the business side's shop: catalogs of products
// (keyed by the merchant's retailer_id, priced in integer minor units of an
// ISO 4217 currency, with inventory and availability), orders made from the
// carts customers send (a state machine, stock reserved when the order is
// placed and released or committed later), the business profile with its
// opening hours (an IANA time zone, weekly hours, holidays), and the FAQ the
// bot answers from.
//
// The package holds the rules; storage is behind small interfaces declared
// here (CatalogStore, OrderStore, BusinessStore, FAQStore), which the
// business agent's database, internal/business/bizstore, implements. Every
// change that must be all-or-nothing (placing an order and reserving its
// stock, capturing a payment and committing stock) runs in one InTx.
//
// # Services
//
//	cat := commerce.NewCatalogs(st, nil)         // catalogs, products, search
//	ord := commerce.NewOrders(st, &commerce.OrderOptions{ReservationTTL: 30 * time.Minute})
//	biz := commerce.NewBusiness(st)              // profile, opening hours
//	faq := commerce.NewFAQs(st)                  // question/answer entries
//
// # Money
//
// Amounts are int64 minor units (centavos, paise, cents; yen have none)
// with a Currency; floats never hold money. ParseDecimal converts the
// decimal the Cloud API's order webhook carries ("item_price": 30.5) and
// FromOffset its {"value","offset"} amounts, both exactly: a value with
// more precision than the currency has is an error, not a rounding.
//
// # Orders
//
// A customer's cart (ParseCart reads the Cloud API order object) becomes an
// Order with a unique reference_id. Placing it checks every item (it exists,
// is orderable, enough free stock, the currency matches) and reports all
// problems at once in a *CartError; otherwise the order and the stock
// reservations of all its items are stored in one transaction. The price
// the customer saw is kept beside each item, but the business's current
// price is what the order charges (Order.PriceChanged tells the bot to say
// so; the order_details message shows the charged amounts).
//
// OrderDetails and OrderStatusParameters give an order in the Cloud API's
// order_details and order_status shapes ({"value","offset"} amounts).
//
// Order statuses follow the Cloud API's order_status: pending → processing
// → partially_shipped → shipped → completed, and canceled, which is allowed
// only from pending or processing and only while no payment is pending or
// captured. Payment has its own status (none, pending, captured, failed).
// Stock held by an order is released when it is canceled, when its payment
// fails while it is pending, and when it expires unpaid (ExpireDue; default
// 30 minutes); it is committed (inventory decremented for good) when the
// payment is captured or, for orders paid on delivery, when the order ships
// or completes. Every change is reported to Subscribers inside the
// transaction that made it, so a subscriber that queues a webhook in the
// same database makes the event as durable as the change.
//
// # Opening hours
//
// Hours are wall-clock ranges in the business's IANA time zone; a range
// whose close is not after its open ends the next day (22:00–02:00). Special
// days (holidays) replace a date's weekly hours. Schedule answers IsOpen,
// ClosesAt and NextOpening across DST changes: a wall time skipped by a
// change means the moment the clocks jump past it, and a repeated one means
// its first occurrence. The time zone database is embedded (time/tzdata) so
// the agent binary does not depend on the host's.
package commerce
