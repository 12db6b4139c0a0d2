
use builtin;
use str;

set edit:completion:arg-completer[ship] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ship'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ship'= {
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Write a commented deploy.toml in the current directory (never overwrites one)'
            cand check 'Validate deploy.toml; with ENV, also reach every target of ENV (and the [store]) and check them'
            cand build 'Build the artifact for a commit and print its sha256'
            cand plan 'Show what a deploy to ENV would do, touching nothing'
            cand deploy 'Deploy a version to every target of ENV'
            cand rollback 'Switch every target of ENV back to the release that was live before'
            cand promote 'Deploy to TO the very artifact live and healthy on every target of FROM'
            cand status 'Show what is live on each target of ENV, and whether the targets agree'
            cand history 'Show the deploy journal of ENV''s targets, newest first'
            cand metrics 'Measure DORA''s four keys for ENV from its journals and git, with their performance bands'
            cand prune 'Remove old releases, artifacts and uploaded ships from every target of ENV'
            cand exec 'Run a command in the live release of each target of ENV (or of those picked by --role and --target), with the steps'' environment'
            cand lock 'Lock every target of ENV until `ship unlock`: deploys and rollbacks are refused (exit 3)'
            cand unlock 'End a `ship lock` on every target of ENV'
            cand agent 'Serve on-target operations over stdin/stdout (started by ship itself over SSH)'
            cand guard 'Run a command as the guard of a step (started by ship itself for every step)'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ship;init'= {
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;check'= {
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;build'= {
            cand --ref 'The commit to build: any git revision (branch, tag, sha, HEAD~2)'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand --allow-dirty 'Build from a working tree with uncommitted changes (the artifact is still the commit''s)'
            cand --push 'Also upload the artifact and its build record to deploy.toml''s [store], unless the store has it already'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;plan'= {
            cand --ref 'The commit to plan: any git revision'
            cand --out 'Also save the plan to FILE, for `ship deploy ENV --plan FILE` to apply exactly'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand --allow-dirty 'Plan from a working tree with uncommitted changes (the artifact is still the commit''s)'
            cand --exit-code 'Exit 10 when changes are pending, 0 when every target is up to date'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;deploy'= {
            cand --ref 'The commit to deploy: any git revision (branch, tag, sha, HEAD~2)'
            cand --artifact 'Deploy an artifact already in the local store, by sha256 (or a unique prefix)'
            cand --plan 'Apply exactly the plan saved by `ship plan ENV --out FILE`; exit 6 if it is stale'
            cand --lock-wait 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -y 'Do not ask for confirmation (needed without a terminal when the env has confirm = true)'
            cand --yes 'Do not ask for confirmation (needed without a terminal when the env has confirm = true)'
            cand --dry-run 'Show the plan and stop: the same as `ship plan`'
            cand --force 'Run the steps and health checks even on targets already on this artifact (never skips a gate: see --ignore-requires)'
            cand --repair 'Where this artifact is live but its files changed since (what `status --verify` finds), rebuild the release from the artifact in place, then run the steps and checks'
            cand --ignore-requires 'Deploy even though the artifact is not live on the environment named by `requires` (warned about, and recorded in every target''s journal)'
            cand --allow-dirty 'Deploy HEAD even though the working tree has uncommitted changes'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;rollback'= {
            cand --to 'The release to go back to: a release id, a version label or a commit'
            cand --lock-wait 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand --dry-run 'Show what would switch, touching nothing'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;promote'= {
            cand --lock-wait 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -y 'Do not ask for confirmation (needed without a terminal when TO has confirm = true)'
            cand --yes 'Do not ask for confirmation (needed without a terminal when TO has confirm = true)'
            cand --dry-run 'Show the plan and stop'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;status'= {
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand --verify 'Rehash every live file against the release''s manifest; exit 1 on drift'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;history'= {
            cand --limit 'Show at most N events'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;metrics'= {
            cand --since 'The window: what ended within this long before now (e.g. 30d, 12w)'
            cand --html 'Also write a dashboard to FILE: one self-contained HTML page (no scripts, no network)'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;prune'= {
            cand --keep 'Keep the newest N releases that went live, the live one and the previous one included (default: deploy.toml''s [release] keep)'
            cand --lock-wait 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand --dry-run 'List what would be removed and why the rest stays, touching nothing'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;exec'= {
            cand --role 'Only the targets that have this role (repeatable: those with any of them)'
            cand --target 'Only this target, its URL as deploy.toml writes it (repeatable)'
            cand --parallel 'Run on at most N targets at once [default: the environment''s workers]'
            cand --lock-wait 'With --lock: when a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand --lock 'Take each picked target''s lock first, as a deploy does, and hold it while the command runs (held by someone else: exit 3, nothing run)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;lock'= {
            cand --reason 'Why, for whoever is refused'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;unlock'= {
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand --force 'Lift the lock even when someone else holds it (recorded in every target''s journal)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;agent'= {
            cand --path 'The target''s directory'
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;guard'= {
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;completions'= {
            cand -C 'Run as if ship was started in DIR'
            cand -f 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --file 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]'
            cand --format 'What stdout carries: text for people, or one JSON document for scripts'
            cand --color 'When to colour output (NO_COLOR is honoured under auto)'
            cand -q 'Print no progress or status lines on stderr (results and errors still print)'
            cand --quiet 'Print no progress or status lines on stderr (results and errors still print)'
            cand -v 'Print more: the build command''s output and the releases pruned from each target'
            cand --verbose 'Print more: the build command''s output and the releases pruned from each target'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ship;help'= {
            cand init 'Write a commented deploy.toml in the current directory (never overwrites one)'
            cand check 'Validate deploy.toml; with ENV, also reach every target of ENV (and the [store]) and check them'
            cand build 'Build the artifact for a commit and print its sha256'
            cand plan 'Show what a deploy to ENV would do, touching nothing'
            cand deploy 'Deploy a version to every target of ENV'
            cand rollback 'Switch every target of ENV back to the release that was live before'
            cand promote 'Deploy to TO the very artifact live and healthy on every target of FROM'
            cand status 'Show what is live on each target of ENV, and whether the targets agree'
            cand history 'Show the deploy journal of ENV''s targets, newest first'
            cand metrics 'Measure DORA''s four keys for ENV from its journals and git, with their performance bands'
            cand prune 'Remove old releases, artifacts and uploaded ships from every target of ENV'
            cand exec 'Run a command in the live release of each target of ENV (or of those picked by --role and --target), with the steps'' environment'
            cand lock 'Lock every target of ENV until `ship unlock`: deploys and rollbacks are refused (exit 3)'
            cand unlock 'End a `ship lock` on every target of ENV'
            cand agent 'Serve on-target operations over stdin/stdout (started by ship itself over SSH)'
            cand guard 'Run a command as the guard of a step (started by ship itself for every step)'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ship;help;init'= {
        }
        &'ship;help;check'= {
        }
        &'ship;help;build'= {
        }
        &'ship;help;plan'= {
        }
        &'ship;help;deploy'= {
        }
        &'ship;help;rollback'= {
        }
        &'ship;help;promote'= {
        }
        &'ship;help;status'= {
        }
        &'ship;help;history'= {
        }
        &'ship;help;metrics'= {
        }
        &'ship;help;prune'= {
        }
        &'ship;help;exec'= {
        }
        &'ship;help;lock'= {
        }
        &'ship;help;unlock'= {
        }
        &'ship;help;agent'= {
        }
        &'ship;help;guard'= {
        }
        &'ship;help;completions'= {
        }
        &'ship;help;help'= {
        }
    ]
    $completions[$command]
}
