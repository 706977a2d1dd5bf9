package dev.tlsrelay.audit;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * Inline SVG charts for the HTML report: stacked time bars, horizontal bars and a timeline. Plain
 * markup with {@code <title>} tooltips: no script, no external resource, nothing to load.
 */
final class Svg {

    static final String FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\"";
    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);

    private Svg() {}

    /** One coloured part of a bar. */
    record Series(String name, String color, long[] values) {}

    /** A labelled bar made of coloured segments. */
    record Row(String label, List<Segment> segments) {
        long total() {
            return segments.stream().mapToLong(Segment::value).sum();
        }
    }

    record Segment(String name, String color, long value) {}

    /** A span on the timeline. */
    record Span(String label, String detail, Instant from, Instant to, String color) {}

    /** Stacked vertical bars over time, one bar per bucket. */
    static String timeBars(String label, List<Instant> buckets, boolean daily, List<Series> series) {
        int width = 1160;
        int height = 240;
        int left = 48;
        int right = 12;
        int top = 28;
        int bottom = 44;
        int plotW = width - left - right;
        int plotH = height - top - bottom;
        long max = 1;
        for (int i = 0; i < buckets.size(); i++) {
            long sum = 0;
            for (Series s : series) {
                sum += s.values()[i];
            }
            max = Math.max(max, sum);
        }
        long yMax = niceCeiling(max);
        StringBuilder o = open(label, width, height);
        axisY(o, left, top, plotW, plotH, yMax);
        double slot = (double) plotW / Math.max(1, buckets.size());
        double barW = Math.min(48, Math.max(1, slot * 0.8)); // a lone bucket stays a bar, not a wall
        for (int i = 0; i < buckets.size(); i++) {
            double x = left + i * slot + (slot - barW) / 2;
            double y = top + plotH;
            StringBuilder tip = new StringBuilder(format(buckets.get(i), daily));
            for (Series s : series) {
                tip.append(" | ").append(s.name()).append(' ').append(s.values()[i]);
            }
            for (Series s : series) {
                long v = s.values()[i];
                if (v == 0) {
                    continue;
                }
                double h = (double) v / yMax * plotH;
                y -= h;
                o.append(String.format(Locale.ROOT,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s</title></rect>",
                        x, y, barW, h, s.color(), Html.escape(tip.toString())));
            }
        }
        // Time labels: at most about ten, evenly spread.
        int every = Math.max(1, (int) Math.ceil(buckets.size() / 10.0));
        for (int i = 0; i < buckets.size(); i += every) {
            double x = left + i * slot + slot / 2;
            String anchor = "middle";
            if (x - 36 < left) {
                anchor = "start";
                x = left;
            } else if (x + 36 > left + plotW) {
                anchor = "end";
                x = left + plotW;
            }
            o.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#555\""
                    + " text-anchor=\"%s\">%s</text>", x, top + plotH + 16, anchor,
                    Html.escape(format(buckets.get(i), daily))));
        }
        o.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\""
                + " text-anchor=\"middle\">%s (UTC)</text>", left + plotW / 2, height - 6, daily ? "day" : "hour"));
        legend(o, width - right, 14, series.stream().map(s -> new Segment(s.name(), s.color(), 0)).toList());
        return o.append("</svg>").toString();
    }

    /** Horizontal bars, one row per label, segments stacked left to right. */
    static String rows(String label, List<Row> rows, List<Segment> legend) {
        int width = 560;
        int labelW = 200;
        int right = 56;
        int rowH = 26;
        int top = legend.isEmpty() ? 8 : 30;
        int height = top + rows.size() * rowH + 8;
        long max = Math.max(1, rows.stream().mapToLong(Row::total).max().orElse(1));
        int plotW = width - labelW - right;
        StringBuilder o = open(label, width, height);
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            int y = top + i * rowH;
            o.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\""
                    + " text-anchor=\"end\">%s<title>%s</title></text>", labelW - 8, y + 17,
                    Html.escape(shorten(r.label(), 28)), Html.escape(r.label())));
            double x = labelW;
            for (Segment s : r.segments()) {
                if (s.value() == 0) {
                    continue;
                }
                double w = (double) s.value() / max * plotW;
                o.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\""
                        + " fill=\"%s\"><title>%s: %s %d</title></rect>", x, y + 4, w, s.color(),
                        Html.escape(r.label()), Html.escape(s.name()), s.value()));
                x += w;
            }
            o.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#222\">%d</text>",
                    x + 6, y + 17, r.total()));
        }
        if (!legend.isEmpty()) {
            legend(o, width - 4, 14, legend);
        }
        return o.append("</svg>").toString();
    }

    /**
     * Certificate validity on a time axis, with today and the warning zone after it marked.
     *
     * @param warnDays width of the shaded warning zone after {@code now}
     */
    static String timeline(String label, List<Span> spans, Instant now, int warnDays) {
        int width = 1160;
        int labelW = 300;
        int right = 200;
        int rowH = 30;
        int top = 34;
        int bottom = 30;
        int height = top + spans.size() * rowH + bottom;
        int plotW = width - labelW - right;
        Instant min = now.minus(Duration.ofDays(7));
        Instant max = now.plus(Duration.ofDays(warnDays + 7));
        for (Span s : spans) {
            min = s.from().isBefore(min) ? s.from() : min;
            max = s.to().isAfter(max) ? s.to() : max;
        }
        double span = Duration.between(min, max).toSeconds();
        Instant origin = min;
        java.util.function.ToDoubleFunction<Instant> xOf =
                t -> labelW + Duration.between(origin, t).toSeconds() / span * plotW;
        StringBuilder o = open(label, width, height);
        double nowX = xOf.applyAsDouble(now);
        double warnX = xOf.applyAsDouble(now.plus(Duration.ofDays(warnDays)));
        o.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fff3e0\">"
                + "<title>the next %d days</title></rect>", nowX, top - 6, warnX - nowX,
                spans.size() * rowH + 6, warnDays));
        for (int i = 0; i < spans.size(); i++) {
            Span s = spans.get(i);
            int y = top + i * rowH;
            double x1 = xOf.applyAsDouble(s.from());
            double x2 = Math.max(x1 + 2, xOf.applyAsDouble(s.to()));
            o.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\""
                    + " text-anchor=\"end\">%s<title>%s</title></text>", labelW - 8, y + 15,
                    Html.escape(shorten(s.label(), 40)), Html.escape(s.label())));
            o.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"16\" rx=\"3\""
                    + " fill=\"%s\"><title>%s: %s</title></rect>", x1, y + 3, x2 - x1, s.color(),
                    Html.escape(s.label()), Html.escape(s.detail())));
            o.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\">%s</text>",
                    width - right + 8, y + 15, Html.escape(s.detail())));
        }
        o.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\""
                + " stroke-width=\"2\" stroke-dasharray=\"4 3\"/>", nowX, top - 10, nowX, top + spans.size() * rowH));
        o.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#222\""
                + " text-anchor=\"middle\">now</text>", nowX, top - 14));
        o.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\">%s</text>",
                labelW, height - 8, DAY.format(min)));
        o.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\""
                + " text-anchor=\"end\">%s</text>", labelW + plotW, height - 8, DAY.format(max)));
        return o.append("</svg>").toString();
    }

    private static StringBuilder open(String label, int width, int height) {
        return new StringBuilder(String.format(Locale.ROOT, "<svg role=\"img\""
                + " aria-label=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" %s>", Html.escape(label), width,
                height, width, height, FONT));
    }

    private static void axisY(StringBuilder o, int left, int top, int plotW, int plotH, long yMax) {
        for (int i = 0; i <= 4; i++) {
            long v = yMax * i / 4;
            double y = top + plotH - (double) plotH * i / 4;
            o.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>",
                    left, y, left + plotW, y, i == 0 ? "#888" : "#e4e4e4"));
            o.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#555\""
                    + " text-anchor=\"end\">%d</text>", left - 6, y + 4, v));
        }
    }

    private static void legend(StringBuilder o, int rightEdge, int y, List<Segment> items) {
        int x = rightEdge;
        for (int i = items.size() - 1; i >= 0; i--) {
            Segment s = items.get(i);
            int w = 22 + s.name().length() * 7;
            x -= w;
            o.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\">%s</text>", x, y - 10, s.color(),
                    x + 16, y, Html.escape(s.name())));
        }
    }

    /** 1, 2, 5 times a power of ten, at least {@code v}, and divisible into four ticks. */
    static long niceCeiling(long v) {
        long p = 1;
        while (true) {
            for (long m : new long[] {4, 8, 20, 40}) {
                if (m * p >= v) {
                    return m * p;
                }
            }
            p *= 10;
        }
    }

    private static String format(Instant t, boolean daily) {
        return daily ? DAY.format(t) : HOUR.format(t);
    }

    private static String shorten(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "\u2026";
    }
}
