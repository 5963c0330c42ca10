"""The ``switchyard`` command line (typer). Thin: each command parses, calls one function, prints.

Commands: ``up``, ``down``, ``status``, ``worker``, ``gateway``, ``keys``, ``submit``, ``simulate``,
``demo``, ``migrate``, ``setup``, ``config-check``, ``batch``, ``chat``, ``schedule``, ``rankings``,
``health``, ``feedback``, ``cost``, ``eval``, ``drill``.
Settings come from the environment (``worker/settings.py``); Temporal connection from Temporal's
environment configuration (``worker/client.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated

import typer
from opentelemetry import trace as otel_trace
from sqlalchemy.exc import OperationalError

from migrations.runner import upgrade
from simulator.scenario import ScenarioError
from worker import stack
from worker.answer_cli import show_answer
from worker.batch_cli import batch_app
from worker.chat_cli import run_chat
from worker.client import TemporalUnreachable, connect
from worker.cluster_setup import ensure_search_attributes
from worker.config_loader import ConfigError, load_config
from worker.cost_cli import PERIODS, cost_report, period_start, print_report
from worker.demo import DemoKeysMissing, DemoPortBusy, run_demo
from worker.gateway.keys_cli import keys_app
from worker.gateway.multiproc import run_event_loop, run_processes
from worker.gateway.server import run_gateway
from worker.health_cli import send_feedback, show_health
from worker.prompts_cli import prompts_app
from worker.rankings_cli import schedule_command, show_rankings
from worker.render import cli_console, print_status
from worker.run_worker import run_worker
from worker.settings import Settings
from worker.submit_cli import submit_one
from worker.trial_commands import register_trial_commands

app = typer.Typer(help="Switchyard: durable AI failover on Temporal.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = cli_console()
err_console = cli_console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Config YAML (default: $SWITCHYARD_CONFIG, "
                                                "./switchyard.yaml, else examples/simulated.yaml).")]


def _settings(config: Path | None = None) -> Settings:
    s = Settings()
    if config is not None:
        s.config = config
    return s


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


@app.command()
def up(config: ConfigOpt = None) -> None:
    """Start the embedded stack (dev server, migrations, worker); reuse whatever already runs."""
    try:
        st = asyncio.run(stack.up(_settings(config), config))
    except ConfigError as e:
        _fail(str(e), 2)
    print_status(console, st)


@app.command()
def down() -> None:
    """Stop the processes ``up`` started."""
    stopped = stack.down(_settings())
    console.print("stopped: " + (", ".join(stopped) or "nothing was running"))


@app.command()
def status() -> None:
    """Show what of the embedded stack is running; exit code 1 when its Temporal server is down."""
    st = stack.status(_settings())
    print_status(console, st)
    raise typer.Exit(1 if st.temporal_address == "(down)" else 0)


@app.command()
def worker(config: ConfigOpt = None,
           task_queue: Annotated[str | None, typer.Option(help="Task queue to poll.")] = None,
           batch_task_queue: Annotated[str | None, typer.Option(help="Batch task queue to poll too.")] = None,
           batch: Annotated[bool, typer.Option(help="Also serve the batch queue.")] = True,
           ready_file: Annotated[Path | None, typer.Option(hidden=True)] = None) -> None:
    """Run a request worker (and a batch worker on the batch queue) in the foreground."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = _settings(config)
    try:
        asyncio.run(run_worker(s, s.config_path(), task_queue or s.task_queue, ready_file=ready_file,
                               batch_task_queue=(batch_task_queue or s.batch_task_queue) if batch else None))
    except ConfigError as e:
        _fail(str(e), 2)


@app.command()
def gateway(config: ConfigOpt = None,
            host: Annotated[str | None, typer.Option(help="Listen address (default: config gateway.host).")] = None,
            port: Annotated[int | None, typer.Option(help="Listen port (default: config gateway.port, 8080).")] = None,
            processes: Annotated[int, typer.Option(min=1, help="Gateway processes on the port (SO_REUSEPORT), "
                                                   "each with its own request worker.")] = 1,
            reuse_port: Annotated[bool, typer.Option(hidden=True)] = False,
            migrate: Annotated[bool, typer.Option(hidden=True)] = True,
            ready_file: Annotated[Path | None, typer.Option(hidden=True)] = None) -> None:
    """Serve the OpenAI-compatible gateway (with its own request worker) in the foreground."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = _settings(config)
    try:
        if processes > 1:
            raise typer.Exit(run_processes(s, s.config_path(), processes, host=host, port=port,
                                           ready_file=ready_file))
        run_event_loop(run_gateway(s, s.config_path(), host=host, port=port, ready_file=ready_file,
                                   reuse_port=reuse_port, migrate=migrate))
    except ConfigError as e:
        _fail(str(e), 2)


app.add_typer(keys_app, name="keys")
app.add_typer(batch_app, name="batch")
app.add_typer(prompts_app, name="prompts")


@app.command()
def submit(prompt: Annotated[str, typer.Argument(help="The user message.")],
           task_type: Annotated[str | None, typer.Option("--task-type", "-t", help="Route to use.")] = None,
           system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
           tenant: Annotated[str, typer.Option()] = "default",
           origin: Annotated[str | None, typer.Option(help="Origin region of the request.")] = None,
           idempotency_key: Annotated[str | None, typer.Option()] = None,
           max_tokens: Annotated[int | None, typer.Option()] = None,
           stream: Annotated[bool, typer.Option("--stream", help="Print the answer as it is generated.")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Run one request through the running stack and print the answer and its routing trace."""
    code = asyncio.run(submit_one(_settings(), console, prompt, task_type=task_type, system=system,
                                  tenant=tenant, origin=origin, idempotency_key=idempotency_key,
                                  max_tokens=max_tokens, as_json=as_json, stream=stream))
    raise typer.Exit(code)


@app.command()
def chat(conversation_id: Annotated[str | None, typer.Option("--id", help="Conversation id (new one if omitted); "
                                                             "an existing id resumes it.")] = None,
         task_type: Annotated[str | None, typer.Option("--task-type", "-t", help="Route to use.")] = None,
         system: Annotated[str | None, typer.Option(help="System prompt (sent with the first turn).")] = None,
         tenant: Annotated[str, typer.Option()] = "default",
         return_after: Annotated[float | None, typer.Option(help="Return to the first target after it has "
                                                             "been healthy this many seconds.")] = None,
         idle_timeout: Annotated[float, typer.Option(help="End the conversation's workflow after this many idle "
                                                     "seconds (the id resumes it).")] = 1800.0,
         max_tokens: Annotated[int | None, typer.Option()] = None) -> None:
    """Interactive conversation pinned to a model; shows which target answered each turn."""
    try:
        code = asyncio.run(run_chat(_settings(), console, conversation_id=conversation_id, task_type=task_type,
                                    tenant=tenant, return_after_s=return_after, idle_timeout_s=idle_timeout,
                                    system=system, max_tokens=max_tokens))
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


@app.command()
def simulate(scenario: Annotated[str, typer.Argument(help="Scenario YAML path or bundled name.")],
             host: Annotated[str, typer.Option()] = "127.0.0.1",
             port: Annotated[int, typer.Option()] = 8300,
             time_scale: Annotated[float | None, typer.Option(min=0.001, help="Override the scenario's "
                                                               "time_scale.")] = None,
             ) -> None:
    """Serve the provider simulator for a fault scenario."""
    from simulator.server import serve
    try:
        serve(scenario, host=host, port=port, time_scale=time_scale)
    except ScenarioError as e:
        _fail(str(e), 2)


@app.command()
def demo(config: ConfigOpt = None,
         scenario: Annotated[str, typer.Option(help="Scenario to replay.")] = "openai-2023-11-08-chat-outage",
         rate: Annotated[float, typer.Option(min=0.01, max=200.0, help="Requests per second.")] = 4.0,
         speed: Annotated[float, typer.Option(min=0.01, max=100.0,
                                              help="Multiplier on the scenario's time_scale.")] = 2.0,
         ) -> None:
    """The main job: embedded stack + simulator replaying an outage + a stream of business requests."""
    try:
        code = asyncio.run(run_demo(_settings(config), console, scenario=scenario, rate=rate, speed=speed,
                                    config_path=config))
    except (ConfigError, ScenarioError) as e:
        _fail(str(e), 2)
    except (DemoPortBusy, DemoKeysMissing) as e:
        _fail(str(e), 3)
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply database migrations to ``DATABASE_URL`` (or the embedded SQLite file)."""
    s = _settings()
    s.home.mkdir(parents=True, exist_ok=True)
    upgrade(s.db_url())
    console.print(f"database at head: {s.db_url()}")


@app.command()
def setup() -> None:
    """Register Switchyard's search attributes on an existing Temporal cluster."""

    async def _run() -> list[str]:
        return await ensure_search_attributes(await connect(_settings()))
    added = asyncio.run(_run())
    console.print("added: " + (", ".join(added) or "nothing (all present)"))


@app.command("config-check")
def config_check(path: Annotated[Path, typer.Argument()]) -> None:
    """Validate a config file; exit 2 with the path of every bad field."""
    try:
        cfg = load_config(path)
    except ConfigError as e:
        _fail(str(e), 2)
    console.print(f"ok: {len(cfg.providers)} providers, {len(cfg.targets)} targets, routes "
                  f"{', '.join(cfg.routes)}")


@app.command()
def schedule(config: ConfigOpt = None,
             trigger: Annotated[bool, typer.Option("--trigger", help="Also start one learning run now.")] = False,
             ) -> None:
    """Create or update the learning schedule on an existing cluster (idempotent; `up` does it too)."""
    try:
        asyncio.run(schedule_command(_settings(config), console, trigger=trigger))
    except ConfigError as e:
        _fail(str(e), 2)


@app.command()
def rankings(task: Annotated[str | None, typer.Argument(help="Task type (default: all).")] = None,
             workflow: Annotated[bool, typer.Option("--workflow", help="Ask the latest learning run "
                                                    "(its rankings query) instead of the database.")] = False,
             ) -> None:
    """Show the current and previous learned ranking per task type, the figures and what changed."""
    raise typer.Exit(asyncio.run(show_rankings(_settings(), console, task, from_workflow=workflow)))



@app.command()
def health(once: Annotated[bool, typer.Option("--once", help="Print the table once and exit.")] = False,
           interval: Annotated[float, typer.Option(min=0.1, help="Refresh period in seconds.")] = 1.0) -> None:
    """Each target's health state, score, breaker, traffic share and reasons, live from the database."""
    try:
        asyncio.run(show_health(_settings(), console, once=once, interval_s=interval))
    except KeyboardInterrupt:
        pass


@app.command()
def cost(period: Annotated[str, typer.Option(help="day | month | all (UTC calendar periods).")] = "month",
         hours: Annotated[float | None, typer.Option(min=0.0, help="Instead of --period: the last N hours.")] = None,
         tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
         route: Annotated[str | None, typer.Option(help="Only this route (task type).")] = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
         config: ConfigOpt = None) -> None:
    """Spend per tenant, route and target, with failover's extra cost separated out."""
    if period not in PERIODS:
        _fail(f"--period must be one of {', '.join(PERIODS)}, not {period!r}", 2)
    now = time.time()
    since = period_start(period, now, hours)
    try:
        report = asyncio.run(cost_report(_settings(config), since, now, tenant=tenant, route=route))
    except ConfigError as e:
        _fail(str(e), 2)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        print_report(console, report, since, now)


@app.command()
def feedback(workflow_id: Annotated[str, typer.Argument(help="Workflow id of the request (req-...).")],
             down: Annotated[bool, typer.Option("--down/--up", help="Thumbs down (default) or up.")] = True,
             comment: Annotated[str, typer.Option(help="Why.")] = "") -> None:
    """Attach a thumbs up/down to a request's answer (counted in the answering target's health)."""
    raise typer.Exit(asyncio.run(send_feedback(_settings(), console, workflow_id, not down, comment)))


register_trial_commands(app)  # eval, drill (worker/trial_commands.py)


@app.command()
def answer(workflow_id: Annotated[str, typer.Argument(help="Workflow id of the request (req-...).")],
           as_json: Annotated[bool, typer.Option("--json", help="Print the routing trace as JSON.")] = False) -> None:
    """Audit one answer: the prompt variant each target got, the answer raw and normalised."""
    raise typer.Exit(asyncio.run(show_answer(_settings(), console, workflow_id, as_json)))


def main() -> None:
    """Console-script entry point: ``app`` with the errors every command can hit (no Temporal server
    at the configured address, the database unreachable) turned into one line on stderr and exit
    code 3, not a traceback; then :func:`_leave`."""
    _leave(_run_app())


def _run_app() -> int:
    try:
        app()
    except SystemExit as e:
        if isinstance(e.code, str):
            err_console.print(e.code, highlight=False)
            return 1
        return int(e.code or 0)
    except TemporalUnreachable as e:
        err_console.print(f"[red]error:[/] {e}", markup=True, highlight=False)
        return 3
    except OperationalError as e:  # the database (DATABASE_URL or the embedded SQLite file) is unreachable
        err_console.print(f"[red]error:[/] database unreachable: {e.orig or e}", markup=True, highlight=False)
        return 3
    except ConnectionRefusedError as e:  # e.g. PostgreSQL at DATABASE_URL not listening
        err_console.print(f"[red]error:[/] connection refused: {e}", markup=True, highlight=False)
        return 3
    except Exception:  # noqa: BLE001 - printed as Python would, then the same exit path
        traceback.print_exc()
        return 1
    return 0


def _leave(code: int) -> None:
    """Exit without interpreter finalization, after flushing what finalization would: the Temporal
    client's Rust threads can abort a finalizing interpreter ("Fatal Python error:
    PyGILState_Release", temporalio/sdk-python#300, open), turning a finished command into SIGABRT."""
    provider = otel_trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()  # export the last spans
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
