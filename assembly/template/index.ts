export { Template, TemplateVar, TemplateSource, TemplateParse, Segment, VarKind, parseTemplate, VARIABLE_HELP } from "./template";
