"""`confcall card …`: prepaid recharge cards (batches, activation, redemption).

Amounts are fen. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

from datetime import UTC, datetime

import click

from confcall.rating import ops

from ._money_common import db_group, fen_text, money_errors, store_of, when

__all__ = ["card"]

card = db_group("card", "Prepaid recharge cards.")


@card.command("generate")
@click.option("--label", required=True, help="the batch's name")
@click.option("--count", type=int, required=True, help="cards in the batch")
@click.option("--value", "value_fen", type=int, required=True, help="face value in fen")
@click.option("--expires", required=True, help="ISO date/time (UTC if no zone)")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="new CSV file for the printer; the only copy of the PINs")
@click.pass_context
@money_errors
def card_generate(ctx: click.Context, label: str, count: int, value_fen: int, expires: str,
                  out: str) -> None:
    """Generate a batch of COUNT recharge cards (serials and PINs to --out, inactive until
    `card activate`)."""
    import os

    from ._common import progress

    from confcall.rating.cards import check_batch, open_print_file, write_print_file
    from confcall.store.models import CardBatch
    expires_at = when(expires, "--expires")
    check_batch(label, count, value_fen, expires_at, datetime.now(UTC))
    store = store_of(ctx)
    try:  # the print file first: an unwritable --out refuses before any card exists
        f = open_print_file(out)
    except OSError as e:
        raise click.ClickException(f"--out {out}: cannot create the print file "
                                   f"({e.strerror}); it must be a new file in a writable "
                                   "directory") from None
    try:  # the PINs' argon2 hashing is the long part: a bar on stderr (a terminal only)
        with progress("hashing PINs", length=count) as bar:
            batch_id, printed = ops.generate_cards(store, label, count, value_fen, expires_at,
                                                   progress=bar.update)
    except BaseException:
        f.close()
        os.unlink(out)
        raise
    with store.transaction() as s:
        batch = s.get(CardBatch, batch_id)
        assert batch is not None
    try:
        write_print_file(f, batch, printed)
    except OSError as e:  # disk full while writing: the PINs are lost, so are the cards
        ops.void_batch(store, batch_id)
        raise click.ClickException(f"--out {out}: writing failed ({e.strerror}); batch "
                                   f"{batch_id} was voided") from None
    click.echo(f"batch {batch_id}: {count} cards of {fen_text(value_fen)} written to {out} "
               "(state generated; 'card activate' when sold)")


@card.command("activate")
@click.argument("batch_id", type=int)
@click.pass_context
@money_errors
def card_activate(ctx: click.Context, batch_id: int) -> None:
    """Make every card of batch BATCH_ID redeemable."""
    click.echo(f"{ops.activate_batch(store_of(ctx), batch_id)} cards activated")


@card.command("void")
@click.argument("serial")
@click.pass_context
@money_errors
def card_void(ctx: click.Context, serial: str) -> None:
    """Void one card by SERIAL: it can never be redeemed."""
    ops.void_card(store_of(ctx), serial)
    click.echo(f"card {serial} void")


@card.command("void-batch")
@click.argument("batch_id", type=int)
@click.pass_context
@money_errors
def card_void_batch(ctx: click.Context, batch_id: int) -> None:
    """Void every unredeemed card of batch BATCH_ID."""
    click.echo(f"{ops.void_batch(store_of(ctx), batch_id)} cards void")


@card.command("unblock")
@click.argument("serial")
@click.pass_context
@money_errors
def card_unblock(ctx: click.Context, serial: str) -> None:
    """Clear a recharge CARD's wrong-PIN count and every throttle on its serial (too many
    wrong card PINs at the IVR or web). A subscriber ACCOUNT locked by wrong account PINs is
    `account unlock` instead."""
    cleared = ops.unblock_card(store_of(ctx), serial)
    click.echo(f"card {serial} unblocked" + (f": cleared {', '.join(cleared)}" if cleared
                                              else ": nothing was holding it"))


@card.command("redeem")
@click.argument("number")
@click.argument("serial")
@click.option("--pin", prompt=True, hide_input=True, help="the card's PIN")
@click.pass_context
@money_errors
def card_redeem(ctx: click.Context, number: str, serial: str, pin: str) -> None:
    """Credit NUMBER with card SERIAL's value (asks for the card PIN), as the IVR does."""
    b = ops.recharge_by_card(store_of(ctx), number, serial, pin, source="cli")
    click.echo(f"{b.number}: balance {fen_text(b.balance_fen)}")


@card.command("expire")
@click.pass_context
@money_errors
def card_expire(ctx: click.Context) -> None:
    """Mark every card past its expiry as expired."""
    from confcall.rating.cards import expire_cards
    n = store_of(ctx).run(expire_cards, datetime.now(UTC))
    click.echo(f"{n} cards expired")
