//! `vwo-webhook flag`: why did this user get that? Decides a flag on a settings file exactly
//! as VWO's Node SDK would, and prints the path to the answer; or decides a batch of cases.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use clap::Parser;
use serde_json::{Value, json};
use vwo_webhook_flags::{Context, Flags, RuleDecision};
use vwo_webhook_settings::{Check, Snapshot, Source};

use crate::style::{self, DIM, paint};
use crate::{Failed, Outcome};

/// Decide a feature flag for a user on a settings file, as VWO's SDK would, and show why.
///
/// `--var name=value` sets a custom variable: the value is read as JSON when it is JSON
/// (`--var seats=12`, `--var beta=true`, `--var 'name="12"'`), as text otherwise.
///
/// With `--cases FILE` (`-` for standard input), each line is a case in the SDK's shape,
/// `{"feature_key": "...", "context": {"id": ..., "customVariables": {...}, "userAgent": "...",
/// "ipAddress": "..."}}`, and each answer is one JSON line, in order:
/// `{"feature_key", "enabled", "variables", "rollout", "experiment"}`, or
/// `{"feature_key", "error"}` for a case the SDK refuses (the batch goes on).
///
/// Examples:
///   vwo-webhook flag --settings settings.json --feature new_checkout --user u-42 --var plan=pro
///   vwo-webhook flag --settings settings.json --cases cases.jsonl > answers.jsonl
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The settings file (as VWO serves it, or as `VWO_SETTINGS_CACHE` keeps it).
    #[arg(long, value_name = "FILE")]
    settings: PathBuf,
    /// The feature's key.
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "cases",
        conflicts_with = "cases"
    )]
    feature: Option<String>,
    /// The user id.
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "cases",
        conflicts_with = "cases"
    )]
    user: Option<String>,
    /// A custom variable (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var, conflicts_with = "cases")]
    vars: Vec<(String, Value)>,
    /// The user agent.
    #[arg(long, value_name = "UA", conflicts_with = "cases")]
    user_agent: Option<String>,
    /// The IP address.
    #[arg(long, value_name = "IP", conflicts_with = "cases")]
    ip: Option<String>,
    /// Decide every case of a JSON-lines file (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    cases: Option<PathBuf>,
}

fn parse_var(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text.split_once('=').ok_or("expected NAME=VALUE")?;
    if name.is_empty() {
        return Err("the variable needs a name before `=`".to_owned());
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((name.to_owned(), value))
}

pub(crate) fn run(args: Args) -> Outcome {
    let raw = std::fs::read(&args.settings).map_err(|e| {
        Failed(format!(
            "cannot read the settings file {}: {e}",
            args.settings.display()
        ))
    })?;
    let snapshot = Snapshot::parse(raw.into(), Check::Fetch, Source::Cache, None, SystemTime::now())
        .map_err(|e| Failed(format!("{}: {e}", args.settings.display())))?;
    let flags = Flags::from_document(snapshot.document());
    match &args.cases {
        Some(path) => batch(&flags, path),
        None => single(&flags, &args),
    }
}

fn single(flags: &Flags, args: &Args) -> Outcome {
    let feature = args.feature.as_deref().unwrap_or_default();
    let mut context =
        Context::new(args.user.clone().unwrap_or_default()).map_err(|e| Failed(e.to_string()))?;
    context = context.with_custom_variables(args.vars.iter().cloned().collect());
    if let Some(ua) = &args.user_agent {
        context = context.with_user_agent(ua.clone());
    }
    if let Some(ip) = &args.ip {
        context = context.with_ip_address(ip.clone());
    }
    let explained = flags.explain(feature, &context);
    let (flag, path) = (explained.flag, explained.steps);
    let yes = if flag.is_enabled() {
        paint(style::OK, "enabled")
    } else {
        paint(style::ERROR, "disabled")
    };
    anstream::println!("{} {feature}", paint(DIM, "feature    "));
    anstream::println!("{} {}", paint(DIM, "user       "), context.id());
    anstream::println!("{} {yes} ({:?})", paint(DIM, "answer     "), flag.reason());
    let rule = |r: Option<&RuleDecision>| {
        r.map_or("-".to_owned(), |r| {
            format!(
                "{} (campaign {}, variation {})",
                r.key, r.campaign_id, r.variation_id
            )
        })
    };
    anstream::println!("{} {}", paint(DIM, "rollout    "), rule(flag.rollout()));
    anstream::println!("{} {}", paint(DIM, "experiment "), rule(flag.experiment()));
    if !flag.holdouts().is_empty() {
        let ids: Vec<String> = flag.holdouts().iter().map(Value::to_string).collect();
        anstream::println!("{} {}", paint(DIM, "holdouts   "), ids.join(", "));
    }
    for (key, value) in flag.variables_json() {
        anstream::println!("{} {key} = {value}", paint(DIM, "variable   "));
    }
    for step in path {
        anstream::println!("{} {step}", paint(DIM, "path       "));
    }
    Ok(())
}

fn batch(flags: &Flags, path: &PathBuf) -> Outcome {
    let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(path).map_err(|e| Failed(format!("cannot read {}: {e}", path.display())))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| Failed(format!("cannot read {}: {e}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = answer(flags, &line, number + 1);
        writeln!(out, "{answer}").map_err(|e| Failed(format!("cannot write the answers: {e}")))?;
    }
    out.flush()
        .map_err(|e| Failed(format!("cannot write the answers: {e}")))
}

/// One case's answer line.
fn answer(flags: &Flags, line: &str, number: usize) -> Value {
    let case: Value = match serde_json::from_str(line) {
        Ok(case) => case,
        Err(e) => return json!({"feature_key": null, "error": format!("line {number} is not JSON: {e}")}),
    };
    let Some(feature) = case.get("feature_key").and_then(Value::as_str) else {
        let feature = case.get("feature_key").cloned().unwrap_or(Value::Null);
        return json!({"feature_key": feature, "error": format!("line {number}: `feature_key` must be a string")});
    };
    let context = match Context::from_sdk_json(case.get("context").unwrap_or(&Value::Null)) {
        Ok(context) => context,
        Err(e) => return json!({"feature_key": feature, "error": format!("line {number}: {e}")}),
    };
    flags.get_flag(feature, &context).to_json(feature)
}
