//! The command line, as clap types. No logic here: `commands/` acts on these.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0   success (valid plan, migration done)
  1   failure (invalid plan, failed step, apply refused)
  2   changes present (plan --detailed-exitcode)
  3   paused at a gate or a wait timed out: run apply again to continue
  64  usage error
  70  internal error

Docs: README.md and ARCHITECTURE.md in the kmigrate repository.";

/// Move Kafka producers and consumers to a new cluster from a reviewed, resumable plan.
///
/// A plan is a YAML file naming the source and target clusters, the topics, the producer
/// cutover, whether old data is copied, and each consumer group's offset strategy. kmigrate
/// validates it, shows what it would change, and applies it step by step with checkpoints.
#[derive(Debug, Parser)]
#[command(name = "kmigrate", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: human-readable text, JSON for scripts, or Markdown (`plan` only, for a
    /// pull-request comment; other commands print text).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub output: OutputFormat,

    /// More log output on stderr (-v: debug, -vv: trace). RUST_LOG overrides it.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draft a plan from the live clusters: the topics, every consumer group with its lag and
    /// members, and a suggested strategy per group with the reason in a comment.
    ///
    /// Reads the source (and the target, if given) and changes nothing. Kafka's internal topics and
    /// tooling state (MirrorMaker 2, Kafka Connect, Schema Registry) are left out; topics sharing
    /// a prefix become one anchored `pattern:` when it matches nothing else on the source. The plan
    /// validates and `kmigrate plan` runs on it as written; review its suggestions first.
    ///
    /// Example: kmigrate init --source old-1:9092 --target new-1:9092 -X security.protocol=SASL_SSL -X 'sasl.password=${KAFKA_PASSWORD}' --to plans/migration.yaml
    Init(InitArgs),

    /// Check plans for errors without contacting any cluster.
    ///
    /// Reports every problem at once, each with the file, line and column, the YAML snippet
    /// and how to fix it. Warnings do not fail validation.
    Validate(ValidateArgs),

    /// Show what apply would do, without changing anything: the dry run for code review.
    ///
    /// Reads both clusters (writes nothing) and prints, in DAG order, the topics to create
    /// (+), change (~), already matching (=) or impossible (!), the records to copy, what apply
    /// will wait for, and every group's offsets per partition: the target's current offset →
    /// the one apply sets, and the rule behind it. Steps done by an earlier apply are marked.
    /// Impossible changes make it fail (exit code 1).
    ///
    /// Example: kmigrate plan plans/quickstart.yaml --output markdown > plan-comment.md
    Plan(PlanArgs),

    /// Execute the plan against both clusters, checkpointing after every step.
    ///
    /// A re-run resumes where the last one stopped and never repeats a completed step. apply
    /// pauses (exit code 3) at a `cutover: manual` gate and when a wait times out.
    Apply(ApplyArgs),

    /// Show where a migration stands: every step's state, outputs and errors.
    Status(StatusArgs),

    /// Print the plan's step DAG (Graphviz DOT or Mermaid).
    ///
    /// Example: kmigrate graph plans/quickstart.yaml | dot -Tsvg > quickstart.svg
    Graph(GraphArgs),

    /// Work with consumer offsets across the migration.
    #[command(subcommand)]
    Offsets(OffsetsCommand),

    /// Print kmigrate's version; with -v, also the Kafka client library built in (librdkafka)
    /// and its features: TLS, SASL mechanisms, OIDC, compression codecs.
    ///
    /// Example: kmigrate version -v
    Version,

    /// Print the JSON Schema of the plan file (format version 1), for editors and CI.
    ///
    /// Editors with a YAML language server (VS Code's YAML extension, Neovim, Helix, ...) complete
    /// keys, show their help and flag mistakes as you type in a plan whose first line names the
    /// schema (`# yaml-language-server: $schema=URL`), as plans drafted by `kmigrate init` do.
    /// This prints the schema published at that URL, for offline use (`$schema=./plan-v1.json`).
    /// The schema checks a plan's shape; `kmigrate validate` checks everything.
    ///
    /// Example: kmigrate schema > plan-v1.json
    Schema,

    /// Print a shell completion script.
    ///
    /// Example (bash): kmigrate completions bash > ~/.local/share/bash-completion/completions/kmigrate
    Completions(CompletionsArgs),

    /// Print the man page (roff).
    ///
    /// Example: kmigrate man > ~/.local/share/man/man1/kmigrate.1
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Subcommand)]
pub enum OffsetsCommand {
    /// Translate an application's own (self-stored) source offsets into target offsets, exactly,
    /// with the offset map of the records kmigrate copied.
    ///
    /// Input and output are `topic,partition,offset` CSV (the format of kafka-consumer-groups
    /// --reset-offsets --from-file); offsets are the next record to read. The target offsets go
    /// to stdout (or --to FILE); copied records the application will read again are reported.
    ///
    /// Example: kmigrate offsets translate plans/quickstart.yaml --group analytics --from-file stored.csv
    Translate(TranslateArgs),
}

#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// The plan file (its state holds the offset maps of the copies).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// The consumer group (or application) whose offsets these are; it must be in the plan.
    #[arg(long, value_name = "GROUP")]
    pub group: String,

    /// The application's source offsets: `topic,partition,offset` lines.
    #[arg(long, value_name = "CSV")]
    pub from_file: PathBuf,

    /// Write the target offsets to this file (atomically) instead of stdout.
    #[arg(long, value_name = "CSV")]
    pub to: Option<PathBuf>,

    /// How long to try to reach the target cluster before failing.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub connect_timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The plan files to check.
    #[arg(required = true, value_name = "PLAN")]
    pub plans: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// Directory of the state file and lock [default: .kmigrate/ beside the plan].
    #[arg(long, value_name = "DIR", env = "KMIGRATE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// Show the DAG and the intended actions without contacting any cluster (values that
    /// depend on the clusters are shown as resolved at apply).
    #[arg(long)]
    pub offline: bool,

    /// Exit 0 when apply would change nothing, 2 when it would change something, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// How long to try to reach a cluster before failing.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub connect_timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// Open a gate: `--approve cutover` records the producer cutover of a `cutover: manual` plan.
    #[arg(long, value_name = "GATE", value_enum)]
    pub approve: Vec<Gate>,

    /// With `--approve cutover`: the cutover time to record (RFC 3339 with a UTC offset),
    /// instead of the newest record timestamp on the source.
    #[arg(long, value_name = "TIME", requires = "approve")]
    pub cutover_at: Option<String>,

    /// Stop waiting (for a drain, an idle source, a cutover time) after this long and exit with
    /// the paused code (3); the next run continues the wait. Example: 10m. [default: wait]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait_timeout: Option<std::time::Duration>,

    /// Accept a plan that changed under steps already done: those steps run again.
    #[arg(long)]
    pub replan: bool,

    /// How many steps may run at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,

    /// How long to wait for a cluster that does not answer (to connect, for each request, through
    /// an outage of the source or a target that acknowledges nothing while copying) before a step
    /// fails; passing failures are retried.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub connect_timeout: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Gate {
    /// The producers have been switched to the target cluster.
    Cutover,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The graph language to print.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (render with `dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub/GitLab Markdown).
    Mermaid,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The source cluster's bootstrap servers (host:port[,host:port...]), or a `${VAR}` holding
    /// them.
    #[arg(long, value_name = "BOOTSTRAP")]
    pub source: String,

    /// The target cluster's bootstrap servers. Without it, the plan reads them from
    /// `${TARGET_BOOTSTRAP}` and `kmigrate plan` needs that variable set.
    #[arg(long, value_name = "BOOTSTRAP")]
    pub target: Option<String>,

    /// A client property of both clusters, as in kcat (repeatable), e.g. -X
    /// security.protocol=SASL_SSL. Write secrets as `${VAR}`: resolved from the environment to
    /// connect, written into the plan as given (a literal password is refused).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property)]
    pub property: Vec<(String, String)>,

    /// A client property of the source cluster only (repeatable; wins over -X).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_property)]
    pub source_property: Vec<(String, String)>,

    /// A client property of the target cluster only (repeatable; wins over -X).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_property)]
    pub target_property: Vec<(String, String)>,

    /// Whether kmigrate copies the source's records to the target (`synced`) or the target
    /// starts without them (`not-synced`); the groups' suggestions follow from it.
    #[arg(long, value_enum, default_value_t = DataArg::Synced)]
    pub data: DataArg,

    /// Propose only the topics whose names match this regular expression (unanchored: use `^`
    /// and `$`).
    #[arg(long, value_name = "REGEX", value_parser = parse_regex)]
    pub topics: Option<regex::Regex>,

    /// Propose only the consumer groups whose ids match this regular expression.
    #[arg(long, value_name = "REGEX", value_parser = parse_regex)]
    pub groups: Option<regex::Regex>,

    /// The plan's `name` (it names the checkpoint state) [default: the --to file's name, else
    /// `migration`].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Write the plan to this file instead of stdout. An existing file is kept unless --force.
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,

    /// Overwrite the --to file if it exists.
    #[arg(long, requires = "to")]
    pub force: bool,

    /// How long to try to reach a cluster before failing.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub connect_timeout: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataArg {
    /// kmigrate copies every record (`data: synced`, `sync: { by: kmigrate }`).
    Synced,
    /// The target starts without the source's records (`data: not-synced`).
    NotSynced,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn parse_regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(s).map_err(|e| e.to_string())
}
