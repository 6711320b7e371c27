package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// start starts a ModelDeployment run with the JSON input in FILE ("-": standard input), as
// `temporal workflow start` does, through tdctl's client: with OTLP on, the run's trace begins
// here (StartWorkflow, then the worker's RunWorkflow and activities). With -wait it waits for the
// result and prints it: exit 0 succeeded, 1 failed (the contract error type is printed).
func start(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "workflow ID (default <action>-<deployment_name>-<environment>, e.g. deploy-fraud-production)")
	wait := fs.Duration("wait", 0, "wait at most this long for the result and print it (0: do not wait)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *wait < 0 {
		fmt.Fprintln(stderr, "tdctl start: want [-id ID] [-wait DURATION] and exactly one INPUT.json (- for standard input)")
		return 2
	}
	in, err := readInput(fs.Arg(0))
	if err == nil && *id == "" {
		*id, err = defaultID(in)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tdctl start:", err)
		return 2
	}
	return withClient(stderr, 30*time.Second+*wait, func(ctx context.Context, c client.Client) int {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: *id, TaskQueue: contract.TaskQueue}, contract.WorkflowType, in)
		if err != nil {
			fmt.Fprintln(stderr, "tdctl start:", err)
			return 1
		}
		fmt.Fprintf(stdout, "started %s (run %s)\n", run.GetID(), run.GetRunID())
		if *wait == 0 {
			return 0
		}
		var out json.RawMessage
		err = run.Get(ctx, &out)
		var app *temporal.ApplicationError
		switch {
		case errors.As(err, &app):
			fmt.Fprintf(stdout, "failed: %s: %s\n", app.Type(), app.Message())
			return 1
		case err != nil:
			fmt.Fprintln(stderr, "tdctl start: result:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	})
}

// readInput reads the run's input, a JSON object, from path ("-": standard input).
func readInput(path string) (json.RawMessage, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("input %s is not a JSON object: %w", path, err)
	}
	return json.RawMessage(b), nil
}

// defaultID is the workflow ID a run gets without -id: <action>-<deployment_name>-<environment>,
// with the contract's defaults (deploy, staging), as the README's examples name runs.
func defaultID(in json.RawMessage) (string, error) {
	var f struct {
		Name   string `json:"deployment_name"`
		Action string `json:"deployment_action"`
		Env    string `json:"target_environment"`
	}
	if err := json.Unmarshal(in, &f); err != nil || f.Name == "" {
		return "", fmt.Errorf("no -id and no deployment_name in the input to name the run after")
	}
	if f.Action == "" {
		f.Action = string(contract.ActionDeploy)
	}
	if f.Env == "" {
		f.Env = string(contract.EnvStaging)
	}
	return f.Action + "-" + f.Name + "-" + f.Env, nil
}
