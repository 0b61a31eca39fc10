// Starts GOV.UK Frontend's components. Loaded as a module, so browsers too old for modules skip it
// and get the plain HTML pages, which work without JavaScript.
import { initAll } from "../govuk/govuk-frontend.min.js";

initAll();
