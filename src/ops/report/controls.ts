/**
 * Which controls each section of the report evidences, named as auditors cite them. The mapping is
 * this product's claim about its own output, kept in one place so every format says the same.
 */
import type { ControlReference } from "./model.js";

export const SECTION_CONTROLS: readonly ControlReference[] = [
  {
    section: "Timeline",
    controls: [
      "SOC 2 CC7.3 (evaluation of security events)",
      "SOC 2 CC7.4 (incident response)",
      "HIPAA 45 CFR §164.308(a)(6)(ii) (identify, respond, mitigate, document)",
      "ISO/IEC 27001:2022 A.5.25 (assessment and decision on events)",
      "ISO/IEC 27001:2022 A.5.26 (response to incidents)",
    ],
  },
  {
    section: "Containment",
    controls: [
      "SOC 2 CC7.4 (contain, remediate, communicate)",
      "HIPAA 45 CFR §164.308(a)(6)(ii) (mitigate harmful effects)",
      "ISO/IEC 27001:2022 A.5.26 (response to incidents)",
    ],
  },
  {
    section: "Decisions per rule per minute",
    controls: [
      "HIPAA 45 CFR §164.312(b) (audit controls)",
      "SOC 2 CC7.3 (evaluation of security events)",
      "ISO/IEC 27001:2022 A.5.25 (assessment and decision on events)",
    ],
  },
  {
    section: "Traffic that reached protected routes",
    controls: [
      "GDPR Art. 33(3)(a) (nature of the breach, categories and approximate numbers of records)",
      "HIPAA 45 CFR §164.402 (risk assessment input: whether PHI was acquired or viewed)",
      "SOC 2 CC7.4 (incident response)",
    ],
  },
  {
    section: "Affected tenants, routes and data classes",
    controls: [
      "GDPR Art. 33(3)(a) (categories of data concerned)",
      "HIPAA 45 CFR §164.404(c) (description of the types of PHI involved)",
      "ISO/IEC 27001:2022 A.5.27 (learning from incidents)",
    ],
  },
  {
    section: "Quarantined identities",
    controls: ["SOC 2 CC7.4 (containment actions)", "ISO/IEC 27001:2022 A.5.26 (response to incidents)"],
  },
  {
    section: "Detections",
    controls: [
      "SOC 2 CC7.2 (monitoring for anomalies)",
      "HIPAA 45 CFR §164.308(a)(1)(ii)(D) (information system activity review)",
      "ISO/IEC 27001:2022 A.8.16 (monitoring activities)",
    ],
  },
  {
    section: "Notification clocks",
    controls: [
      "HIPAA 45 CFR §§164.404, 164.406, 164.408, 164.410 (breach notification)",
      "GDPR Art. 33 (notification to the supervisory authority / controller)",
      "GDPR Art. 34 (communication to the data subject)",
      "SOC 2 CC7.4 (communication of incidents)",
      "ISO/IEC 27001:2022 A.5.24 (incident management planning)",
    ],
  },
  {
    section: "Audit chain",
    controls: [
      "HIPAA 45 CFR §164.312(b) (audit controls)",
      "HIPAA 45 CFR §164.316(b) (documentation, retained six years)",
      "SOC 2 CC7.5 (recovery and lessons learned, documented)",
      "GDPR Art. 33(5) (documentation of breaches)",
      "ISO/IEC 27001:2022 A.5.28 (collection of evidence)",
    ],
  },
];
