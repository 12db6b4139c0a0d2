//! `ship lock ENV` / `ship unlock ENV`: a long-lived lock, with a reason, that deploys and
//! rollbacks respect (exit 3 naming the holder) until it is lifted.

use anyhow::Result;

use super::Ctx;
use crate::error::Exit;
use crate::release::Holder;

pub fn lock(cx: &Ctx, env_name: &str, reason: Option<String>) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(env_name)?;
    let mut targets = crate::rollout::reach::connect_all(env, &config)?;
    let mut holder = Holder::me(&format!("ship lock {env_name}"));
    holder.reason = reason;
    for i in 0..targets.len() {
        let name = targets[i].spec().to_string();
        if let Err(e) = targets[i].hold(&holder).map_err(|e| crate::rollout::reach::naming(e, "locking", &name)) {
            // All or nothing: lift what this command already took.
            for target in &mut targets[..i] {
                let _ = target.release_hold(None);
            }
            return Err(e);
        }
    }
    let names: Vec<String> = targets.iter().map(|t| t.spec().to_string()).collect();
    if cx.ui.json() {
        cx.ui.out_json(&serde_json::json!({ "env": env.name, "locked": true, "holder": holder, "targets": names }))?;
    } else {
        cx.ui.out(&format!("Locked {} ({} target(s)) until `ship unlock {}`.", env.name, names.len(), env.name))?;
    }
    Ok(Exit::Success)
}

pub fn unlock(cx: &Ctx, env_name: &str, force: bool) -> Result<Exit> {
    let config = cx.config()?;
    let env = config.env(env_name)?;
    let mut targets = crate::rollout::reach::connect_all(env, &config)?;
    let me = Holder::me(&format!("ship unlock {env_name}"));
    // Someone else's lock is theirs to lift: refused, touching nothing, unless --force.
    if !force {
        let states = crate::rollout::reach::read_states(&mut targets, env.workers)?;
        for (target, state) in targets.iter().zip(states) {
            if let Some(holder) = state.holder.filter(|h| !h.is_same_person(&me)) {
                let refusal = crate::error::Refusal::locked(&target.spec().to_string(), Some(&holder));
                let message = format!("{}; nothing was unlocked", refusal.message);
                return Err(crate::error::Refusal { message, ..refusal }
                    .hint(format!(
                        "`ship unlock {env_name} --force` breaks their lock, and every target's journal records it"
                    ))
                    .into());
            }
        }
    }
    let mut lifted = Vec::new();
    for target in &mut targets {
        let name = target.spec().to_string();
        let released = target.release_hold(Some(&me)).map_err(|e| crate::rollout::reach::naming(e, "unlocking", &name));
        if let Some(holder) = released? {
            let broken = !holder.is_same_person(&me);
            if broken {
                cx.ui.warn(&format!("{}: broke the lock of {holder}", target.spec()));
            }
            lifted.push(serde_json::json!({ "target": target.spec().to_string(), "holder": holder, "broken": broken }));
        }
    }
    if cx.ui.json() {
        cx.ui.out_json(&serde_json::json!({ "env": env.name, "locked": false, "lifted": lifted }))?;
    } else if lifted.is_empty() {
        cx.ui.out(&format!("{} was not locked.", env.name))?;
    } else {
        cx.ui.out(&format!("Unlocked {} ({} target(s)).", env.name, lifted.len()))?;
    }
    Ok(Exit::Success)
}
