package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports one epoch's batches.
type progress interface {
	Update(batch int, loss float64, samples int)
	Done()
}

// progressFunc starts the report of an epoch of total batches, first of
// which are already done (a resumed epoch).
type progressFunc func(title string, total, first int) progress

// progressFor returns a progress bar with images/s and ETA when w is a
// terminal (github.com/schollz/progressbar: well kept, and it measures
// rate and ETA itself), and plain log lines about every tenth of an
// epoch otherwise (logs, SLURM output files).
func progressFor(w io.Writer) progressFunc {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return func(title string, total, first int) progress {
			bar := progressbar.NewOptions(total,
				progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(title),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
			bar.Set(first)
			return &barProgress{bar: bar, title: title, start: time.Now()}
		}
	}
	return func(title string, total, first int) progress {
		return &lineProgress{w: w, title: title, total: total, every: max(total/10, 1), start: time.Now(), first: first}
	}
}

type barProgress struct {
	bar      *progressbar.ProgressBar
	title    string
	start    time.Time
	samples0 int
	started  bool
}

func (p *barProgress) Update(batch int, loss float64, samples int) {
	if !p.started {
		p.started, p.samples0 = true, samples
		p.start = time.Now()
	}
	rate := float64(samples-p.samples0) / max(time.Since(p.start).Seconds(), 1e-3)
	p.bar.Describe(fmt.Sprintf("%s loss %.4f %.1f images/s", p.title, loss, rate))
	p.bar.Set(batch)
}

func (p *barProgress) Done() { p.bar.Finish() }

type lineProgress struct {
	w            io.Writer
	title        string
	total, every int
	first        int
	start        time.Time
	samples0     int
}

func (p *lineProgress) Update(batch int, loss float64, samples int) {
	if batch == p.first+1 {
		p.samples0 = samples - 1
	}
	if batch%p.every != 0 && batch != p.total {
		return
	}
	el := time.Since(p.start)
	done := batch - p.first
	eta := time.Duration(float64(el) / float64(max(done, 1)) * float64(p.total-batch))
	fmt.Fprintf(p.w, "  %s: batch %d/%d, loss %.4f, %.1f images/s, ETA %s\n", p.title, batch, p.total, loss,
		float64(samples-p.samples0)/el.Seconds(), eta.Round(time.Second))
}

func (p *lineProgress) Done() {}

// notifyInterrupt turns the first SIGINT or SIGTERM into a request to stop
// after the current step; a second one kills the process as usual.
func notifyInterrupt() (stop func() bool, cancel func()) {
	var flag atomic.Bool
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			flag.Store(true)
			signal.Stop(ch)
			fmt.Fprintf(os.Stderr, "\nall: %v: finishing the current step and saving the state (again to kill)\n", sig)
		case <-done:
		}
	}()
	return flag.Load, func() { signal.Stop(ch); close(done) }
}
