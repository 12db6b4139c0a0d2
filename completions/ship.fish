# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ship_global_optspecs
    string join \n C= f/file= format= color= q/quiet v/verbose h/help V/version
end

function __fish_ship_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ship_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ship_using_subcommand
    set -l cmd (__fish_ship_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ship -n "__fish_ship_needs_command" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_needs_command" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_needs_command" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_needs_command" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_needs_command" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_needs_command" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ship -n "__fish_ship_needs_command" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_needs_command" -f -a "init" -d 'Write a commented deploy.toml in the current directory (never overwrites one)'
complete -c ship -n "__fish_ship_needs_command" -f -a "check" -d 'Validate deploy.toml; with ENV, also reach every target of ENV (and the [store]) and check them'
complete -c ship -n "__fish_ship_needs_command" -f -a "build" -d 'Build the artifact for a commit and print its sha256'
complete -c ship -n "__fish_ship_needs_command" -f -a "plan" -d 'Show what a deploy to ENV would do, touching nothing'
complete -c ship -n "__fish_ship_needs_command" -f -a "deploy" -d 'Deploy a version to every target of ENV'
complete -c ship -n "__fish_ship_needs_command" -f -a "rollback" -d 'Switch every target of ENV back to the release that was live before'
complete -c ship -n "__fish_ship_needs_command" -f -a "promote" -d 'Deploy to TO the very artifact live and healthy on every target of FROM'
complete -c ship -n "__fish_ship_needs_command" -f -a "status" -d 'Show what is live on each target of ENV, and whether the targets agree'
complete -c ship -n "__fish_ship_needs_command" -f -a "history" -d 'Show the deploy journal of ENV\'s targets, newest first'
complete -c ship -n "__fish_ship_needs_command" -f -a "metrics" -d 'Measure DORA\'s four keys for ENV from its journals and git, with their performance bands'
complete -c ship -n "__fish_ship_needs_command" -f -a "prune" -d 'Remove old releases, artifacts and uploaded ships from every target of ENV'
complete -c ship -n "__fish_ship_needs_command" -f -a "exec" -d 'Run a command in the live release of each target of ENV (or of those picked by --role and --target), with the steps\' environment'
complete -c ship -n "__fish_ship_needs_command" -f -a "lock" -d 'Lock every target of ENV until `ship unlock`: deploys and rollbacks are refused (exit 3)'
complete -c ship -n "__fish_ship_needs_command" -f -a "unlock" -d 'End a `ship lock` on every target of ENV'
complete -c ship -n "__fish_ship_needs_command" -f -a "agent" -d 'Serve on-target operations over stdin/stdout (started by ship itself over SSH)'
complete -c ship -n "__fish_ship_needs_command" -f -a "guard" -d 'Run a command as the guard of a step (started by ship itself for every step)'
complete -c ship -n "__fish_ship_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c ship -n "__fish_ship_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ship -n "__fish_ship_using_subcommand init" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand init" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand init" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand init" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand init" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand init" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand init" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand init" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand check" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand check" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand check" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand check" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand check" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand check" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand check" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand check" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand build" -l ref -d 'The commit to build: any git revision (branch, tag, sha, HEAD~2)' -r
complete -c ship -n "__fish_ship_using_subcommand build" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand build" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand build" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand build" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand build" -l allow-dirty -d 'Build from a working tree with uncommitted changes (the artifact is still the commit\'s)'
complete -c ship -n "__fish_ship_using_subcommand build" -l push -d 'Also upload the artifact and its build record to deploy.toml\'s [store], unless the store has it already'
complete -c ship -n "__fish_ship_using_subcommand build" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand build" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand build" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand build" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand plan" -l ref -d 'The commit to plan: any git revision' -r
complete -c ship -n "__fish_ship_using_subcommand plan" -l out -d 'Also save the plan to FILE, for `ship deploy ENV --plan FILE` to apply exactly' -r -F
complete -c ship -n "__fish_ship_using_subcommand plan" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand plan" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand plan" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand plan" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand plan" -l allow-dirty -d 'Plan from a working tree with uncommitted changes (the artifact is still the commit\'s)'
complete -c ship -n "__fish_ship_using_subcommand plan" -l exit-code -d 'Exit 10 when changes are pending, 0 when every target is up to date'
complete -c ship -n "__fish_ship_using_subcommand plan" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand plan" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand plan" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand plan" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand deploy" -l ref -d 'The commit to deploy: any git revision (branch, tag, sha, HEAD~2)' -r
complete -c ship -n "__fish_ship_using_subcommand deploy" -l artifact -d 'Deploy an artifact already in the local store, by sha256 (or a unique prefix)' -r
complete -c ship -n "__fish_ship_using_subcommand deploy" -l plan -d 'Apply exactly the plan saved by `ship plan ENV --out FILE`; exit 6 if it is stale' -r -F
complete -c ship -n "__fish_ship_using_subcommand deploy" -l lock-wait -d 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3' -r
complete -c ship -n "__fish_ship_using_subcommand deploy" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand deploy" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand deploy" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand deploy" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand deploy" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal when the env has confirm = true)'
complete -c ship -n "__fish_ship_using_subcommand deploy" -l dry-run -d 'Show the plan and stop: the same as `ship plan`'
complete -c ship -n "__fish_ship_using_subcommand deploy" -l force -d 'Run the steps and health checks even on targets already on this artifact (never skips a gate: see --ignore-requires)'
complete -c ship -n "__fish_ship_using_subcommand deploy" -l repair -d 'Where this artifact is live but its files changed since (what `status --verify` finds), rebuild the release from the artifact in place, then run the steps and checks'
complete -c ship -n "__fish_ship_using_subcommand deploy" -l ignore-requires -d 'Deploy even though the artifact is not live on the environment named by `requires` (warned about, and recorded in every target\'s journal)'
complete -c ship -n "__fish_ship_using_subcommand deploy" -l allow-dirty -d 'Deploy HEAD even though the working tree has uncommitted changes'
complete -c ship -n "__fish_ship_using_subcommand deploy" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand deploy" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand deploy" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand deploy" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand rollback" -l to -d 'The release to go back to: a release id, a version label or a commit' -r
complete -c ship -n "__fish_ship_using_subcommand rollback" -l lock-wait -d 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3' -r
complete -c ship -n "__fish_ship_using_subcommand rollback" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand rollback" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand rollback" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand rollback" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand rollback" -s y -l yes -d 'Do not ask for confirmation'
complete -c ship -n "__fish_ship_using_subcommand rollback" -l dry-run -d 'Show what would switch, touching nothing'
complete -c ship -n "__fish_ship_using_subcommand rollback" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand rollback" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand rollback" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand promote" -l lock-wait -d 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3' -r
complete -c ship -n "__fish_ship_using_subcommand promote" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand promote" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand promote" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand promote" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand promote" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal when TO has confirm = true)'
complete -c ship -n "__fish_ship_using_subcommand promote" -l dry-run -d 'Show the plan and stop'
complete -c ship -n "__fish_ship_using_subcommand promote" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand promote" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand promote" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ship -n "__fish_ship_using_subcommand promote" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand status" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand status" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand status" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand status" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand status" -l verify -d 'Rehash every live file against the release\'s manifest; exit 1 on drift'
complete -c ship -n "__fish_ship_using_subcommand status" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand status" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand status" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand status" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand history" -l limit -d 'Show at most N events' -r
complete -c ship -n "__fish_ship_using_subcommand history" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand history" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand history" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand history" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand history" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand history" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand history" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand history" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand metrics" -l since -d 'The window: what ended within this long before now (e.g. 30d, 12w)' -r
complete -c ship -n "__fish_ship_using_subcommand metrics" -l html -d 'Also write a dashboard to FILE: one self-contained HTML page (no scripts, no network)' -r -F
complete -c ship -n "__fish_ship_using_subcommand metrics" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand metrics" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand metrics" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand metrics" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand metrics" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand metrics" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand metrics" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ship -n "__fish_ship_using_subcommand metrics" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand prune" -l keep -d 'Keep the newest N releases that went live, the live one and the previous one included (default: deploy.toml\'s [release] keep)' -r
complete -c ship -n "__fish_ship_using_subcommand prune" -l lock-wait -d 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3' -r
complete -c ship -n "__fish_ship_using_subcommand prune" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand prune" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand prune" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand prune" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand prune" -l dry-run -d 'List what would be removed and why the rest stays, touching nothing'
complete -c ship -n "__fish_ship_using_subcommand prune" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand prune" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ship -n "__fish_ship_using_subcommand prune" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand exec" -l role -d 'Only the targets that have this role (repeatable: those with any of them)' -r
complete -c ship -n "__fish_ship_using_subcommand exec" -l target -d 'Only this target, its URL as deploy.toml writes it (repeatable)' -r
complete -c ship -n "__fish_ship_using_subcommand exec" -l parallel -d 'Run on at most N targets at once [default: the environment\'s workers]' -r
complete -c ship -n "__fish_ship_using_subcommand exec" -l lock-wait -d 'With --lock: when a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3' -r
complete -c ship -n "__fish_ship_using_subcommand exec" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand exec" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand exec" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand exec" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand exec" -l lock -d 'Take each picked target\'s lock first, as a deploy does, and hold it while the command runs (held by someone else: exit 3, nothing run)'
complete -c ship -n "__fish_ship_using_subcommand exec" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand exec" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ship -n "__fish_ship_using_subcommand exec" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand lock" -l reason -d 'Why, for whoever is refused' -r
complete -c ship -n "__fish_ship_using_subcommand lock" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand lock" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand lock" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand lock" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand lock" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand lock" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand lock" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand lock" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand unlock" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand unlock" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand unlock" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand unlock" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand unlock" -l force -d 'Lift the lock even when someone else holds it (recorded in every target\'s journal)'
complete -c ship -n "__fish_ship_using_subcommand unlock" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand unlock" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand unlock" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand unlock" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand agent" -l path -d 'The target\'s directory' -r -F
complete -c ship -n "__fish_ship_using_subcommand agent" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand agent" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand agent" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand agent" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand agent" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand agent" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand agent" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand agent" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand guard" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand guard" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand guard" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand guard" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand guard" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand guard" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand guard" -s h -l help -d 'Print help'
complete -c ship -n "__fish_ship_using_subcommand guard" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand completions" -s C -d 'Run as if ship was started in DIR' -r -F
complete -c ship -n "__fish_ship_using_subcommand completions" -s f -l file -d 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]' -r -F
complete -c ship -n "__fish_ship_using_subcommand completions" -l format -d 'What stdout carries: text for people, or one JSON document for scripts' -r -f -a "human\t''
json\t''"
complete -c ship -n "__fish_ship_using_subcommand completions" -l color -d 'When to colour output (NO_COLOR is honoured under auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ship -n "__fish_ship_using_subcommand completions" -s q -l quiet -d 'Print no progress or status lines on stderr (results and errors still print)'
complete -c ship -n "__fish_ship_using_subcommand completions" -s v -l verbose -d 'Print more: the build command\'s output and the releases pruned from each target'
complete -c ship -n "__fish_ship_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ship -n "__fish_ship_using_subcommand completions" -s V -l version -d 'Print version'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "init" -d 'Write a commented deploy.toml in the current directory (never overwrites one)'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "check" -d 'Validate deploy.toml; with ENV, also reach every target of ENV (and the [store]) and check them'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "build" -d 'Build the artifact for a commit and print its sha256'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "plan" -d 'Show what a deploy to ENV would do, touching nothing'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "deploy" -d 'Deploy a version to every target of ENV'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "rollback" -d 'Switch every target of ENV back to the release that was live before'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "promote" -d 'Deploy to TO the very artifact live and healthy on every target of FROM'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "status" -d 'Show what is live on each target of ENV, and whether the targets agree'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "history" -d 'Show the deploy journal of ENV\'s targets, newest first'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "metrics" -d 'Measure DORA\'s four keys for ENV from its journals and git, with their performance bands'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "prune" -d 'Remove old releases, artifacts and uploaded ships from every target of ENV'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "exec" -d 'Run a command in the live release of each target of ENV (or of those picked by --role and --target), with the steps\' environment'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "lock" -d 'Lock every target of ENV until `ship unlock`: deploys and rollbacks are refused (exit 3)'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "unlock" -d 'End a `ship lock` on every target of ENV'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "agent" -d 'Serve on-target operations over stdin/stdout (started by ship itself over SSH)'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "guard" -d 'Run a command as the guard of a step (started by ship itself for every step)'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c ship -n "__fish_ship_using_subcommand help; and not __fish_seen_subcommand_from init check build plan deploy rollback promote status history metrics prune exec lock unlock agent guard completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
