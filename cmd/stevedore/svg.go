package main

import (
	"cmp"
	"fmt"
	"html"
	"slices"
	"strings"

	"github.com/stevedore-go/stevedore"
)

// palette colours the services and task families, in order of name.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// packingSVG draws the live tasks of cluster cl of snap: each container
// instance a column, grouped by Availability Zone, whose width is its
// registered CPU and height its registered memory (both to the scale of the
// largest instance); each task a box whose width is its CPU and height its
// memory, stacked corner to corner from the bottom left, so that the room
// left shows as the space above and to the right of the staircase. Boxes
// are coloured by service (or task family for standalone tasks).
func packingSVG(snap *stevedore.Snapshot, cl, title string) string {
	type column struct {
		in    stevedore.SnapshotContainerInstance
		zone  string
		tasks []stevedore.SnapshotTask
	}
	var cols []*column
	byARN := map[string]*column{}
	var maxCPU, maxMem int64 = 1, 1
	for _, in := range snap.ContainerInstances {
		if in.Status == "INACTIVE" || (len(snap.Clusters) > 1 && !strings.Contains(in.ContainerInstanceArn, "/"+cl+"/")) {
			continue
		}
		c := &column{in: in, zone: attribute(in, "ecs.availability-zone")}
		cols = append(cols, c)
		byARN[in.ContainerInstanceArn] = c
		reg := resourceAmounts(in.RegisteredResources)
		maxCPU, maxMem = max(maxCPU, reg[0]), max(maxMem, reg[1])
	}
	groups := map[string]bool{}
	for _, t := range snap.Tasks {
		if c := byARN[t.ContainerInstanceArn]; c != nil && t.LastStatus != "STOPPED" {
			c.tasks = append(c.tasks, t)
			groups[t.Group] = true
		}
	}
	slices.SortStableFunc(cols, func(a, b *column) int {
		return cmp.Or(strings.Compare(a.zone, b.zone), strings.Compare(attribute(a.in, "ecs.instance-type"), attribute(b.in, "ecs.instance-type")),
			strings.Compare(a.in.Ec2InstanceId, b.in.Ec2InstanceId))
	})
	names := slices.Sorted(func(yield func(string) bool) {
		for g := range groups {
			if !yield(g) {
				return
			}
		}
	})
	colour := map[string]string{}
	for i, g := range names {
		colour[g] = palette[i%len(palette)]
	}

	const (
		minW, maxW = 40.0, 96.0 // column widths: the smallest instance, the largest
		maxH       = 220.0
		gap        = 10.0
		zoneGap    = 30.0
		top        = 72.0
		left       = 20.0
	)
	var body strings.Builder
	x := left
	zone := ""
	zoneStart := x
	closeZone := func(end float64) {
		if zone == "" && zoneStart == end {
			return
		}
		fmt.Fprintf(&body, `<text class="zone" x="%.1f" y="%.1f">%s</text>`+"\n", zoneStart, top-12, html.EscapeString(cmp.Or(zone, "(no zone)")))
	}
	tasks := 0
	for i, c := range cols {
		if i == 0 {
			zone, zoneStart = c.zone, x
		} else if c.zone != zone {
			closeZone(x)
			x += zoneGap
			zone, zoneStart = c.zone, x
		}
		reg := resourceAmounts(c.in.RegisteredResources)
		w := minW + (maxW-minW)*float64(reg[0])/float64(maxCPU)
		h := maxH * float64(reg[1]) / float64(maxMem)
		y0 := top + maxH - h
		fmt.Fprintf(&body, `<g class="instance-column"><rect class="instance%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`+"\n",
			map[bool]string{true: " draining"}[c.in.Status == "DRAINING"], x, y0, w, h,
			html.EscapeString(fmt.Sprintf("%s %s %s %s: CPU %d, memory %d MiB registered", c.in.Ec2InstanceId, attribute(c.in, "ecs.instance-type"), c.zone, c.in.Status, reg[0], reg[1])))
		var usedCPU, usedMem float64
		slices.SortStableFunc(c.tasks, func(a, b stevedore.SnapshotTask) int { return strings.Compare(a.Group, b.Group) })
		for _, t := range c.tasks {
			cpu, mem := amount(t.Cpu), amount(t.Memory)
			tw := w * cpu / float64(max(reg[0], 1))
			th := h * mem / float64(max(reg[1], 1))
			tx := x + w*usedCPU/float64(max(reg[0], 1))
			ty := top + maxH - h*usedMem/float64(max(reg[1], 1)) - th
			usedCPU += cpu
			usedMem += mem
			fmt.Fprintf(&body, `<rect class="task" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s</title></rect>`+"\n",
				tx, ty, max(tw, 1.5), max(th, 1.5), colour[t.Group],
				html.EscapeString(fmt.Sprintf("%s %s %s: CPU %s, memory %s", t.TaskArn[strings.LastIndexByte(t.TaskArn, '/')+1:], t.Group, t.LastStatus, t.Cpu, t.Memory)))
			tasks++
		}
		label := c.in.Ec2InstanceId
		if len(label) > 7 {
			label = "…" + label[len(label)-5:]
		}
		fmt.Fprintf(&body, `<text class="label" x="%.1f" y="%.1f">%s</text><text class="label" x="%.1f" y="%.1f">%s</text></g>`+"\n",
			x, top+maxH+14, html.EscapeString(label), x, top+maxH+26, html.EscapeString(attribute(c.in, "ecs.instance-type")))
		x += w + gap
	}
	if len(cols) > 0 {
		closeZone(x)
	}
	width := max(x+left, 400)
	// The legend.
	ly := top + maxH + 50
	lx := left
	for _, g := range names {
		fmt.Fprintf(&body, `<rect class="swatch" x="%.1f" y="%.1f" width="12" height="12" fill="%s"/><text class="legend" x="%.1f" y="%.1f">%s</text>`+"\n",
			lx, ly, colour[g], lx+16, ly+10, html.EscapeString(g))
		lx += 30 + 7*float64(len(g))
		if lx > width-150 {
			lx, ly = left, ly+20
		}
	}
	height := ly + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">
<style>
text { font-family: sans-serif; font-size: 10px; fill: #333; }
.label { font-size: 9px; }
.title { font-size: 14px; font-weight: bold; }
.zone { font-size: 12px; font-weight: bold; }
.instance { fill: #f4f4f4; stroke: #999; stroke-width: 1; }
.instance.draining { fill: #fde8e8; stroke: #c00; stroke-dasharray: 4 2; }
.task { stroke: #fff; stroke-width: 0.5; }
</style>
<text class="title" x="%.1f" y="20">%s</text>
<text x="%.1f" y="36">%s</text>
`, width, height, width, height, left, html.EscapeString(title), left,
		html.EscapeString(fmt.Sprintf("%d instances, %d tasks. An instance's column grows with its registered CPU (width) and memory (height); a task's box is its share of each, boxes stacked corner to corner from the bottom left. Dashed: DRAINING.", len(cols), tasks)))
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}

// amount parses a task's cpu or memory ("256"); 0 when it is not a number.
func amount(s string) float64 {
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil || v < 0 {
		return 0
	}
	return v
}
